import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import { FIXTURES, IMAGES, referenceMeta, runCli } from './support/shared.js';

const meta = referenceMeta();
const image = (i: number) => join(IMAGES, meta.images[i]);
const tmp = () => mkdtempSync(join(tmpdir(), 'netvis-cli-'));
const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace by default');

/** A 10-class fixture net with a sidecar, one Relu replaced by `opType`. */
function fixtureModel(dir: string, opType?: string): string {
  const model = decodeModel(readFileSync(join(FIXTURES, 'resblock.onnx')));
  if (opType) model.graph.node.find((n) => n.opType === 'Relu')!.opType = opType;
  const path = join(dir, `resblock-${opType ?? 'plain'}.onnx`);
  writeFileSync(path, encodeModel(model));
  writeFileSync(
    path.replace(/\.onnx$/, '.json'),
    JSON.stringify({
      labels: Array.from({ length: 10 }, (_, i) => `shape ${i}`),
      preprocessing: { resize: 32, crop: 32 },
    }),
  );
  return path;
}

test('classify --json prints one array with the top-k classes of each image', async () => {
  const run = await runCli(['classify', image(1), image(6), '--top', '3', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as {
    image: string;
    top: { index: number; label: string; probability: number }[];
  }[];
  assert.equal(out.length, 2);
  assert.equal(out[0].image, image(1));
  assert.equal(out[0].top.length, 3);
  assert.deepEqual(
    out.map((r) => r.top[0].index),
    [meta.top1_pred[1], meta.top1_pred[6]],
  );
  assert.equal(out[0].top[0].label, 'tarantula');
  for (const r of out) {
    assert.ok(r.top[0].probability >= r.top[1].probability && r.top[1].probability >= r.top[2].probability);
    assert.ok(r.top.every((t) => t.probability >= 0 && t.probability <= 1));
  }
});

test('a classifier other than the default loads through its JSON sidecar', async () => {
  const model = fixtureModel(tmp());
  const run = await runCli(['classify', image(0), '--model', model, '--json', '--top', '2']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(JSON.parse(run.stdout)[0].top[0].label, /^shape \d$/);
});

test('bad inputs fail with a clear message, a non-zero exit code and no stack trace', async () => {
  const dir = tmp();
  const truncated = join(dir, 'truncated.onnx');
  writeFileSync(truncated, readFileSync(join(FIXTURES, 'resblock.onnx')).subarray(0, 5000));
  writeFileSync(truncated.replace(/\.onnx$/, '.json'), JSON.stringify({ labels: ['a', 'b'] }));
  const textFile = join(dir, 'notes.jpg');
  writeFileSync(textFile, 'this is not an image\n');
  const cases: { args: string[]; message: RegExp; code?: number }[] = [
    {
      args: ['classify', image(0), '--model', truncated],
      message: /truncated\.onnx: not a valid ONNX model/,
    },
    { args: ['classify', textFile], message: /notes\.jpg: not an image/ },
    { args: ['classify', image(0), '--model', dir], message: /is a folder; give the \.onnx file in it/ },
    // An image given as the model, with no labels beside it: what is wrong is the model, not its labels.
    {
      args: ['classify', image(0), '--model', image(1)],
      message: /JPEG: not a valid ONNX model/,
    },
    { args: ['classify', join(dir, 'missing.jpg')], message: /missing\.jpg/ },
    {
      args: ['fool', image(0), '--target', 'tarantulla'],
      message: /unknown class 'tarantulla'; closest: 'tarantula'/,
    },
    { args: ['fool', image(0), '--target', '1000'], message: /class index 1000 is out of range/ },
    {
      args: ['classify', image(0), '--model', 'no-such-model'],
      message: /model 'no-such-model' not found; looked for/,
    },
    {
      args: ['saliency', image(0), '--model', fixtureModel(dir, 'Sin')],
      message: /Sin node '\/stem\/stem\.2\/Relu': operator Sin has no gradient rule/,
    },
    { args: ['classify', image(0), '--model', fixtureModel(dir, 'NetvisMystery')], message: /NetvisMystery/ },
    {
      args: ['classify', image(0), '--top', 'three'],
      message: /--top must be an integer from 1 to 1000000, got 'three'/,
      code: 2,
    },
    { args: ['frobnicate'], message: /unknown command 'frobnicate'/, code: 2 },
    { args: ['classify', image(0), '--top', '2000'], message: /--top 2000: .* has 1000 classes/, code: 2 },
    {
      args: ['robustness', image(0), '--attack', 'fgsm', '--eps', '1,,2'],
      message: /--eps must be a comma-separated list of numbers ≥ 0, got '1,,2'/,
      code: 2,
    },
  ];
  for (const c of cases) {
    const run = await runCli(c.args);
    assert.notEqual(run.code, 0, `${c.args.join(' ')} exited 0`);
    if (c.code !== undefined) assert.equal(run.code, c.code, c.args.join(' '));
    assert.match(run.stderr, c.message, c.args.join(' '));
    noStack(run.stderr);
  }
});

test('saliency writes a figure and reports label, score and map statistics', async () => {
  const out = join(tmp(), 'sal.png');
  const run = await runCli(['saliency', image(1), image(3), '-o', out, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout);
  assert.equal(json.images[0].label.name, 'tarantula');
  assert.ok(json.images[0].map.max > json.images[0].map.mean && json.images[0].map.mean > 0);
  const meta = await sharp(out).metadata();
  assert.ok(meta.width! > 2 * 224 && meta.height! > 2 * 224);
  const overlay = join(tmp(), 'overlay.png');
  const run2 = await runCli([
    'saliency',
    image(1),
    '--overlay',
    '--label',
    'wolf spider',
    '-o',
    overlay,
    '--json',
  ]);
  assert.equal(run2.code, 0, run2.stderr);
  assert.equal(JSON.parse(run2.stdout).images[0].label.index, 77);
  assert.ok(existsSync(overlay));
});

test('fool turns the terrapin into a stingray and writes the four-panel figure', async () => {
  const out = join(tmp(), 'fool.png');
  const run = await runCli(['fool', image(0), '--target', 'stingray', '-o', out, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout);
  assert.equal(json.success, true);
  assert.equal(json.predicted.index, 6);
  assert.equal(json.iterations, meta.fooling[0].steps);
  const m = await sharp(out).metadata();
  assert.ok(m.width! >= 4 * 224);
});

test('classviz writes the final image, the frames figure and a GIF with one frame per step', async () => {
  const dir = tmp();
  const run = await runCli([
    'classviz',
    '--class',
    'tarantula',
    '--iterations',
    '6',
    '--show-every',
    '3',
    '-o',
    join(dir, 'viz.png'),
    '--frames',
    join(dir, 'frames.png'),
    '--gif',
    join(dir, 'viz.gif'),
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout);
  assert.deepEqual(json.frames, [1, 3, 6]);
  assert.equal((await sharp(join(dir, 'viz.gif'), { pages: -1 }).metadata()).pages, 6);
  // -o is the final image itself; --frames the strip of three, whose last tile (captions above: two lines of 20 px
  // and a 4 px gap under the 12 px padding) is that same image.
  const final = await sharp(join(dir, 'viz.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([final.info.width, final.info.height], [224, 224]);
  const strip = sharp(join(dir, 'frames.png'));
  assert.deepEqual(
    [(await strip.metadata()).width, (await strip.metadata()).height],
    [12 + 3 * 224 + 2 * 12 + 12, 12 + 44 + 224 + 12],
  );
  const lastTile = await strip
    .extract({ left: 12 + 2 * (224 + 12), top: 12 + 44, width: 224, height: 224 })
    .removeAlpha()
    .raw()
    .toBuffer();
  assert.ok(lastTile.equals(final.data), 'the final image is the last frame of the strip');
});

test('report writes a complete report folder', async () => {
  const dir = join(tmp(), 'report');
  const run = await runCli(['report', '--out', dir, '--iterations', '4']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /wrote .*index\.html/);
  const files = readdirSync(dir).sort();
  assert.deepEqual(files, [
    'attribution-cam.png',
    'attribution-gradient.png',
    'attribution-perturbation.png',
    'attribution-relevance.png',
    'classviz-electric-guitar.gif',
    'classviz-electric-guitar.png',
    'classviz-tarantula.gif',
    'classviz-tarantula.png',
    'fooling.png',
    'index.html',
    'saliency-overlay.png',
    'saliency.png',
  ]);
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  for (const f of files.filter((f) => f !== 'index.html')) assert.ok(html.includes(`src="${f}"`), f);
  assert.match(html, /Saliency maps/);
  assert.match(html, /Fooling images/);
  assert.match(html, /Class visualization/);
});

test('Ctrl-C during a long run exits 130 and leaves no output file, whole or partial', async () => {
  const dir = tmp();
  let sent = false;
  const child = runCli(
    [
      'classviz',
      '--class',
      'tarantula',
      '--iterations',
      '400',
      '-o',
      join(dir, 'viz.png'),
      '--gif',
      join(dir, 'viz.gif'),
      '--progress',
    ],
    {
      onStderr: (text, kill) => {
        if (!sent && /step 5\b/.test(text)) {
          sent = true;
          kill('SIGINT');
        }
      },
    },
  );
  const run = await child;
  assert.ok(sent, `never saw progress: ${run.stderr}`);
  assert.equal(run.code, 130, run.stderr);
  assert.match(run.stderr, /interrupted; no output written/);
  assert.deepEqual(readdirSync(dir), []);
});
