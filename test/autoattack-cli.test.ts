import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeImage } from '../src/image/decode.js';
import { imageToTensor } from '../src/image/preprocess.js';
import type { RgbImage } from '../src/image/types.js';
import { argmaxRows } from '../src/methods/common.js';
import type { Classifier } from '../src/model/classifier.js';
import { loadClassifier } from '../src/model/load.js';
import { IMAGES, referenceMeta, runCli } from './support/shared.js';

// Needs the built CLI: `npm run build` first.
const meta = referenceMeta();
// Three images the model classifies correctly.
const rows = meta.labels.flatMap((l, i) => (l === meta.top1_pred[i] ? [i] : [])).slice(0, 3);
const paths = rows.map((i) => join(IMAGES, meta.images[i]));

interface RobustnessJson {
  attack: string;
  cleanAccuracy: number;
  eps: number[];
  accuracy: number[];
  broke: { eps: number; attack: string; attacked: number; broke: number }[];
  rounding: { adversarial: number; stayAdversarial: number; checkedFromFiles: boolean };
  images: {
    image: string;
    label: { index: number };
    clean: boolean;
    brokenBy: string | null;
    rounded?: { adversarial: boolean; linfPixels: number; l2Pixels: number; file?: string };
  }[];
}

let classifier: Classifier;
before(async () => {
  classifier = await loadClassifier();
});
after(() => classifier.dispose());

function change(a: RgbImage, b: RgbImage): { linf: number; l2: number } {
  let linf = 0;
  let l2 = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    linf = Math.max(linf, Math.abs(d));
    l2 += d * d;
  }
  return { linf, l2: Math.sqrt(l2) };
}

test('robustness --attack autoattack: RobustBench numbers, and each 8-bit adversarial image checked again from its file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netvis-autoattack-cli-'));
  const run = await runCli([
    'robustness',
    ...paths,
    '--attack',
    'autoattack',
    '--eps',
    '2',
    '--steps',
    '10',
    '--target-classes',
    '2',
    '--queries',
    '50',
    '--labels-from',
    'filename',
    '--save-adversarial',
    join(dir, 'adv'),
    '-o',
    join(dir, 'curve.png'),
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as RobustnessJson;
  assert.equal(json.images.length, 3);
  assert.equal(json.cleanAccuracy, 1);
  const broken = json.images.filter((r) => r.brokenBy !== null);
  assert.equal(
    json.broke.reduce((s, c) => s + c.broke, 0),
    broken.length,
    'the per-attack counts add up to the images broken',
  );
  assert.equal(json.accuracy.at(-1), (3 - broken.length) / 3);
  assert.ok(broken.length > 0, 'ε 2 breaks some of three images');
  assert.equal(json.rounding.adversarial, broken.length);
  assert.equal(json.rounding.checkedFromFiles, true);
  let stay = 0;
  for (const r of broken) {
    const file = r.rounded!.file!;
    const written = await decodeImage(file);
    const original = await decodeImage(file.replace(/\.adversarial\.png$/, '.original.png'));
    const { linf, l2 } = change(written, original);
    // Reported sizes are those of the written 8-bit images, exactly; the budget holds after rounding.
    assert.equal(r.rounded!.linfPixels, linf, file);
    assert.equal(r.rounded!.l2Pixels, l2, file);
    assert.ok(linf <= 2, `${file}: L∞ ${linf}`);
    const predicted = argmaxRows(
      await classifier.logits(imageToTensor(written, classifier.preprocessing)),
    )[0];
    assert.equal(predicted !== r.label.index, r.rounded!.adversarial, file);
    if (r.rounded!.adversarial) stay++;
  }
  assert.equal(json.rounding.stayAdversarial, stay);
});

test('robustness --attack square in text says how many each attack broke and what rounding kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netvis-autoattack-cli-'));
  const run = await runCli([
    'robustness',
    paths[0],
    '--attack',
    'square',
    '--eps',
    '0.5,4',
    '--queries',
    '30',
    '-o',
    join(dir, 'curve.png'),
    '--quiet',
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^accuracy against the model's own predictions on the clean images/);
  assert.match(run.stdout, /\nclean accuracy 100\.0 % \(1 of 1\)\n/);
  assert.match(
    run.stdout,
    /ε 0\.5 \(L∞, 0-255 pixel units\): robust accuracy [\d.]+ % \(\d of 1\); square broke \d/,
  );
  assert.equal(run.stderr, '', '--quiet prints no progress');
});

test('robustness: bad flags are one-line usage errors', async () => {
  const run = await runCli(['robustness', paths[0], '--attack', 'pgd', '--autoattack-version', 'rand']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--autoattack-version applies to --attack autoattack, not pgd/);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});

test('robustness: a corrupt file among good ones fails before any attack, naming it; nothing is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netvis-robustness-bad-'));
  const bad = join(dir, 'cut.JPEG');
  // The first 2000 bytes of a good JPEG: its header parses, its data ends early.
  writeFileSync(bad, readFileSync(paths[0]).subarray(0, 2000));
  const out = join(dir, 'curve.png');
  const run = await runCli(['robustness', ...paths, bad, '--attack', 'pgd', '--eps', '0,1', '-o', out]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /cut\.JPEG: corrupt jpeg image/);
  assert.doesNotMatch(run.stderr, /robustness pgd:/, 'no attack started');
  assert.doesNotMatch(run.stderr, /\n\s+at /);
  assert.equal(existsSync(out), false);
});
