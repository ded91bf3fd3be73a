import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { foolingRate, randomPerturbation } from '../src/methods/adversarial/universal.js';
import { loadClassifier } from '../src/model/load.js';
import { sliceBatch } from '../src/tensor.js';
import { readNpy } from './support/npy.js';
import { IMAGES, REFERENCE, referenceMeta, runCli } from './support/shared.js';

// Needs the built CLI: `npm run build` first.
const meta = referenceMeta();
const referenceInputs = () => readNpy(join(REFERENCE, 'inputs.npy'));
const image = (i: number) => join(IMAGES, meta.images[i]);
const tmp = () => mkdtempSync(join(tmpdir(), 'netvis-attack-cli-'));
const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace by default');

// Figure layout (src/render/figure.ts): 12 px padding; two caption lines of 20 px plus a 4 px gap above each tile row.
const figureSize = (cols: number, rows: number) => ({
  width: 12 + cols * 224 + (cols - 1) * 12 + 12,
  height: 12 + rows * (44 + 224) + (rows - 1) * 12 + 12,
});

interface AttackJson {
  method: string;
  output: string;
  results: {
    image: string;
    success: boolean;
    iterations: number;
    originalPrediction: { index: number; name: string };
    predicted: { index: number; name: string };
    target?: { index: number; name: string };
    linfPixels: number;
    l2Pixels: number;
  }[];
}

test('attack --method fgsm on two images prints per-image JSON and writes one figure row per image', async () => {
  const out = join(tmp(), 'fgsm.png');
  const run = await runCli([
    'attack',
    image(1),
    image(5),
    '--method',
    'fgsm',
    '--eps',
    '2',
    '--json',
    '-o',
    out,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as AttackJson;
  assert.equal(json.method, 'fgsm');
  assert.equal(json.results.length, 2);
  assert.deepEqual(
    json.results.map((r) => r.originalPrediction.index),
    [meta.top1_pred[1], meta.top1_pred[5]],
  );
  for (const r of json.results) {
    assert.ok(r.linfPixels <= 2 + 1e-4 && r.l2Pixels > 0);
    assert.equal(r.success, r.predicted.index !== r.originalPrediction.index);
    assert.equal(r.iterations, 1);
  }
  const png = await sharp(out).metadata();
  assert.deepEqual({ width: png.width, height: png.height }, figureSize(4, 2));
});

test('attack --method pgd --target reaches the target and says so in text', async () => {
  const out = join(tmp(), 'pgd.png');
  const run = await runCli([
    'attack',
    image(1),
    '--method',
    'pgd',
    '--target',
    'stingray',
    '--eps',
    '8',
    '-o',
    out,
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stdout,
    /fooled, tarantula -> stingray \(L∞ [0-8]\.00, L2 [\d.]+ in 0-255 units\)\nwrote /,
  );
  const png = await sharp(out).metadata();
  assert.deepEqual({ width: png.width, height: png.height }, figureSize(4, 1));
});

test('attack refuses flags that do not apply to the method, and unknown methods', async () => {
  const cases: { args: string[]; message: RegExp }[] = [
    {
      args: ['--method', 'deepfool', '--target', '6'],
      message: /--target does not apply to --method deepfool/,
    },
    { args: ['--method', 'cw', '--eps', '2'], message: /--eps does not apply to --method cw/ },
    { args: ['--method', 'nope'], message: /argument 'nope' is invalid/ },
  ];
  for (const c of cases) {
    const run = await runCli(['attack', image(0), ...c.args, '-o', join(tmp(), 'x.png')]);
    assert.equal(run.code, 2, `${c.args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, c.message);
    noStack(run.stderr);
  }
});

test('robustness --state: a rerun reads the journal instead of attacking again; other settings or a folder are refused', async () => {
  const dir = tmp();
  const journal = join(dir, 'run.jsonl');
  const args = (eps: string, state = journal) => [
    'robustness',
    image(0),
    image(1),
    '--attack',
    'fgsm',
    '--eps',
    eps,
    '--labels-from',
    'filename',
    '--state',
    state,
    '--json',
    '-o',
    join(dir, 'curve.png'),
  ];
  // Two worker threads: each image is a chunk of its own, journaled as it finishes.
  const first = await runCli([...args('1,2'), '--workers', '2']);
  assert.equal(first.code, 0, first.stderr);
  const written = readFileSync(journal, 'utf8');
  const [header, ...lines] = written.trimEnd().split('\n');
  assert.equal((JSON.parse(header) as { netvis: string }).netvis, 'robustness');
  const journaled = lines.flatMap((l) => (JSON.parse(l) as { images: { image: string }[] }).images);
  assert.equal(lines.length, 2, 'a line per chunk');
  assert.deepEqual(journaled.map((r) => r.image).sort(), [image(0), image(1)].sort());
  // How the work was shared out is not a setting: a run in this thread continues the same journal.
  const again = await runCli([...args('1,2'), '--workers', '1']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(JSON.parse(again.stdout), JSON.parse(first.stdout));
  assert.equal(readFileSync(journal, 'utf8'), written, 'nothing attacked again, nothing appended');
  const other = await runCli(args('1,3'));
  assert.equal(other.code, 2);
  assert.match(
    other.stderr,
    /--state .*run\.jsonl: written by a run with other settings \(eps \[1,2\], now \[1,3\]\)/,
  );
  const folder = await runCli(args('1,2', dir));
  assert.equal(folder.code, 2);
  assert.match(folder.stderr, /--state .*: is a folder; give a journal file's name/);
  noStack(folder.stderr);
});

test('robustness --workers 2 gives what one batch in this thread gives (random starts seeded per image)', async () => {
  const dir = tmp();
  const images = [0, 1, 4, 11].map(image);
  const args = (workers: string) => [
    'robustness',
    ...images,
    '--attack',
    'pgd',
    '--eps',
    '0,0.5,1',
    '--steps',
    '3',
    '--workers',
    workers,
    '--json',
    '-o',
    join(dir, `curve-${workers}.png`),
  ];
  const [one, two] = [await runCli(args('1')), await runCli(args('2'))];
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  const parsed = (stdout: string) => {
    const json = JSON.parse(stdout) as Record<string, unknown>;
    delete json.output;
    return json;
  };
  // Four chunks of one image on two workers against one batch of four: PGD's random start, and so each
  // adversarial image's 8-bit size, must not depend on the batch an image is in.
  const json = parsed(one.stdout) as { images: { rounded?: { l2Pixels: number } }[] };
  assert.ok(
    json.images.some((r) => r.rounded),
    'some image is broken, so its size is compared',
  );
  assert.deepEqual(parsed(two.stdout), json);
});

test('robustness --labels-from filename prints a non-increasing curve and plots it', async () => {
  const out = join(tmp(), 'curve.png');
  const images = [0, 1, 4, 11].map(image);
  const run = await runCli([
    'robustness',
    ...images,
    '--attack',
    'fgsm',
    '--eps',
    '0,1,2',
    '--labels-from',
    'filename',
    '--json',
    '-o',
    out,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as {
    eps: number[];
    accuracy: number[];
    cleanAccuracy: number;
    images: { image: string; label: { index: number }; brokenAt: number | null }[];
  };
  assert.deepEqual(json.eps, [0, 1, 2]);
  assert.deepEqual(
    json.images.map((i) => i.label.index),
    [0, 1, 4, 11].map((i) => meta.labels[i]),
  );
  const clean = [0, 1, 4, 11].filter((i) => meta.labels[i] === meta.top1_pred[i]).length / 4;
  assert.equal(json.cleanAccuracy, clean);
  assert.equal(json.accuracy[0], clean);
  assert.ok(json.accuracy[1] <= json.accuracy[0] && json.accuracy[2] <= json.accuracy[1]);
  const png = await sharp(out).metadata();
  assert.deepEqual({ width: png.width, height: png.height }, { width: 640, height: 420 });

  const bad = await runCli(['robustness', image(0), '--eps', '1,x', '-o', join(tmp(), 'y.png')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--eps must be a comma-separated list of numbers ≥ 0, got '1,x'/);
});

test('featureviz: a channel (with --progress), a grid of channels and a class; bad objectives fail clearly', async () => {
  const dir = tmp();
  const one = await runCli([
    'featureviz',
    '--layer',
    'features.9',
    '--channel',
    '12',
    '--iterations',
    '6',
    '--progress',
    '--json',
    '-o',
    join(dir, 'one.png'),
  ]);
  assert.equal(one.code, 0, one.stderr);
  const json = JSON.parse(one.stdout) as {
    objectives: string[];
    initialObjective: number[];
    finalObjective: number[];
  };
  assert.deepEqual(json.objectives, ['features.9:12']);
  assert.ok(
    json.finalObjective[0] > json.initialObjective[0],
    `${json.initialObjective} -> ${json.finalObjective}`,
  );
  assert.match(
    one.stderr,
    /featureviz features\.9:12: step 6\/6 \(100%\), [\d.]+ s elapsed · objective [\d.]+/,
  );
  const size = await sharp(join(dir, 'one.png')).metadata();
  assert.deepEqual({ width: size.width, height: size.height }, figureSize(1, 1));

  const grid = await runCli([
    'featureviz',
    '--layer',
    'features.9',
    '--grid',
    '2x2',
    '--iterations',
    '2',
    '-o',
    join(dir, 'grid.png'),
  ]);
  assert.equal(grid.code, 0, grid.stderr);
  // The progress names every channel of the grid, not the first alone.
  assert.match(grid.stderr, /^featureviz 4 objectives \(features\.9:0 … features\.9:3\): 2 steps$/m);
  assert.match(
    grid.stdout,
    /features\.9:0: .*\nfeatures\.9:1: .*\nfeatures\.9:2: .*\nfeatures\.9:3: .*\nwrote /,
  );
  const gridSize = await sharp(join(dir, 'grid.png')).metadata();
  assert.deepEqual({ width: gridSize.width, height: gridSize.height }, figureSize(2, 2));

  const cls = await runCli([
    'featureviz',
    '--class',
    'tarantula',
    '--param',
    'pixel',
    '--iterations',
    '2',
    '--json',
    '-o',
    join(dir, 'cls.png'),
  ]);
  assert.equal(cls.code, 0, cls.stderr);
  assert.deepEqual((JSON.parse(cls.stdout) as { objectives: string[] }).objectives, ['tarantula']);

  const cases: { args: string[]; message: RegExp; code: number }[] = [
    {
      args: ['--layer', 'features.9', '--channel', '999'],
      message: /--channel 999: layer 'features.9' has 384 channels \(0 to 383\)/,
      code: 2,
    },
    {
      args: ['--layer', 'features.99', '--channel', '1'],
      message: /no layer or tensor named 'features.99'/,
      code: 1,
    },
    {
      args: ['--channel', '1'],
      message: /give either --class, or --layer with --channel or --grid/,
      code: 2,
    },
    { args: ['--class', 'tarantulla'], message: /unknown class 'tarantulla'; closest: 'tarantula'/, code: 1 },
    {
      args: ['--layer', 'features.9', '--channel', '1', '--diversity', '1'],
      message: /--diversity needs --layer and a batch of at least 2/,
      code: 2,
    },
  ];
  for (const c of cases) {
    const out = join(dir, 'bad.png');
    const run = await runCli(['featureviz', ...c.args, '--iterations', '1', '-o', out]);
    assert.equal(run.code, c.code, `${c.args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, c.message);
    noStack(run.stderr);
    assert.ok(!existsSync(out));
  }
});

test('attack --method universal: the perturbation file, its held-out fooling rate and the random-noise baseline re-measured from the files', async () => {
  const dir = tmp();
  const out = join(dir, 'universal.png');
  const npy = join(dir, 'v.npy');
  const run = await runCli([
    'attack',
    image(0),
    image(2),
    '--method',
    'universal',
    '--held-out',
    image(1),
    image(3),
    image(5),
    '--perturbation',
    npy,
    '--json',
    '-o',
    out,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as {
    eps: number;
    linfPixels: number;
    l2Pixels: number;
    images: number;
    heldOut: { images: number; foolingRate: number; results: { clean: { index: number } }[] };
    randomNoise: {
      on: string;
      seed: number;
      sameSize: { linfPixels: number; l2Pixels: number; foolingRate: number };
      fullBudget: { linfPixels: number; l2Pixels: number; foolingRate: number };
    };
  };
  assert.equal(json.eps, 10);
  assert.equal(json.images, 2);
  assert.equal(json.heldOut.images, 3);
  assert.deepEqual(
    json.heldOut.results.map((r) => r.clean.index),
    [meta.top1_pred[1], meta.top1_pred[3], meta.top1_pred[5]],
  );
  // The written perturbation: whole values within ξ, with the sizes the JSON reports.
  const v = readNpy(npy);
  assert.deepEqual(v.dims, [1, 3, 224, 224]);
  let linf = 0;
  let l2 = 0;
  for (const x of v.data) {
    assert.equal(x, Math.round(x));
    linf = Math.max(linf, Math.abs(x));
    l2 += x * x;
  }
  assert.ok(linf <= 10);
  assert.equal(json.linfPixels, linf);
  assert.equal(json.l2Pixels, Math.sqrt(l2));
  // Both fooling rates, measured again here on the held-out images from the files.
  const classifier = await loadClassifier();
  try {
    const heldOut = sliceBatch(referenceInputs(), 1, 5);
    const rows = [0, 2, 4].map((i) => sliceBatch(heldOut, i));
    const images = { data: Float32Array.from(rows.flatMap((r) => [...r.data])), dims: [3, 3, 224, 224] };
    assert.equal((await foolingRate(classifier, images, v)).rate, json.heldOut.foolingRate);
    assert.equal(json.randomNoise.on, 'held-out');
    // Noise of the perturbation's own L∞ (±L∞ on every value), and noise filling the budget (±10).
    for (const [noise, size] of [
      [json.randomNoise.sameSize, linf],
      [json.randomNoise.fullBudget, 10],
    ] as const) {
      const r = randomPerturbation(v.dims, 'linf', size, json.randomNoise.seed);
      assert.equal(noise.linfPixels, size);
      assert.ok(Math.abs(noise.l2Pixels - size * Math.sqrt(r.data.length)) < 1e-9 * noise.l2Pixels);
      assert.equal((await foolingRate(classifier, images, r)).rate, noise.foolingRate);
    }
  } finally {
    classifier.dispose();
  }
  const size = await sharp(out).metadata();
  assert.deepEqual({ width: size.width, height: size.height }, figureSize(4, 3));
  noStack(run.stderr);
});
