import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { loadImageBatch } from '../src/image/load.js';
import { attributionMethod, methodsInGridOrder } from '../src/methods/attribution/registry.js';
import { loadClassifier } from '../src/model/load.js';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import { encodeNpy } from '../src/util/npy.js';
import { readNpy } from './support/npy.js';
import { FIXTURES, IMAGES, referenceMeta, runCli } from './support/shared.js';

// Run `npm run build` first: these spawn the built CLI.
const meta = referenceMeta();
const image = (i: number) => join(IMAGES, meta.images[i]);
const tmp = () => mkdtempSync(join(tmpdir(), 'netvis-attr-'));

interface AttributeJson {
  output: string;
  methods: string[];
  images: {
    image: string;
    label: { index: number; name: string };
    score: number;
    methods: Record<string, { map: { min: number; max: number; mean: number }; [k: string]: unknown }>;
  }[];
}

test('attribute --method gradcam reports the layer it found and its size; --target takes a name or a wnid', async () => {
  const out = join(tmp(), 'cam.png');
  const run = await runCli(['attribute', image(1), image(3), '--method', 'gradcam', '-o', out, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as AttributeJson;
  assert.deepEqual(json.methods, ['gradcam']);
  assert.deepEqual(
    json.images.map((r) => r.label.index),
    [meta.top1_pred[1], meta.top1_pred[3]],
  );
  for (const r of json.images) {
    assert.equal(r.methods.gradcam.layer, 'features.12');
    assert.deepEqual(r.methods.gradcam.layerSize, [13, 13]);
    assert.ok(r.methods.gradcam.map.min >= 0 && r.methods.gradcam.map.max > 0);
  }
  const { width, height } = await sharp(out).metadata();
  assert.ok(
    width! > 2 * 224 && width! < 3 * 224 && height! > 2 * 224,
    `${width}×${height}: image | map, 2 rows`,
  );

  const byWnid = await runCli([
    'attribute',
    image(1),
    '--target',
    'n01774750',
    '-o',
    join(tmp(), 'w.png'),
    '--json',
  ]);
  assert.equal(byWnid.code, 0, byWnid.stderr);
  assert.equal((JSON.parse(byWnid.stdout) as AttributeJson).images[0].label.index, 76);
  const typo = await runCli(['attribute', image(1), '--target', 'n01774751', '-o', join(tmp(), 'w.png')]);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /unknown class 'n01774751'/);
  const named = await runCli([
    'attribute',
    image(1),
    '--method',
    'saliency,gradcam++',
    '--target',
    'wolf spider',
    '--layer',
    'features.9',
    '-o',
    join(tmp(), 'x.png'),
    '--json',
  ]);
  assert.equal(named.code, 0, named.stderr);
  const j = JSON.parse(named.stdout) as AttributeJson;
  assert.equal(j.images[0].label.index, 77);
  assert.equal(j.images[0].methods['gradcam++'].layer, 'features.9');
  assert.deepEqual(j.images[0].methods['gradcam++'].layerSize, [13, 13]);
});

test('attribute --method all draws every method side by side and reports IG’s completeness gap', async () => {
  const out = join(tmp(), 'all.png');
  const run = await runCli([
    'attribute',
    image(1),
    image(9),
    '--method',
    'all',
    '--samples',
    '3',
    '--steps',
    '8',
    '--window',
    '56',
    '--stride',
    '56',
    '--masks',
    '10',
    '--target',
    '76',
    '--overlay',
    '--alpha',
    '0.7',
    '-o',
    out,
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as AttributeJson;
  // Every registered method, grouped by family: gradient, CAM, (relevance,) perturbation; not the attention
  // methods, which SqueezeNet (no attention) is not offered.
  const all = methodsInGridOrder()
    .filter((m) => m.family !== 'attention')
    .map((m) => m.name);
  assert.deepEqual(all.slice(0, 2), ['saliency', 'smoothgrad']);
  assert.deepEqual(json.methods, all);
  for (const r of json.images) {
    assert.equal(r.label.index, 76);
    assert.deepEqual(Object.keys(r.methods), all);
    assert.equal(typeof r.methods.ig.completenessGap, 'number');
    assert.equal(r.methods.occlusion.positions, 16);
    for (const m of all) assert.ok(Number.isFinite(r.methods[m].map.mean), m);
  }
  const { width, height } = await sharp(out).metadata();
  assert.ok(
    width! > (all.length + 1) * 224 && width! < (all.length + 1) * 240,
    `${width}: image + ${all.length} maps per row`,
  );
  assert.ok(height! > 2 * 224 && height! < 3 * 224, `${height}: one row per image`);
});

test('evaluate prints deletion/insertion AUCs against a random map, and the randomization check per layer', async () => {
  const run = await runCli([
    'evaluate',
    image(1),
    image(3),
    '--method',
    'saliency',
    '--check',
    'deletion,insertion,randomization',
    '--curve-steps',
    '8',
    '--layers',
    '2',
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as {
    fractions: number[];
    methods: Record<
      string,
      {
        deletion: { meanAuc: number; auc: number[]; curves: number[][] };
        insertion: { meanAuc: number; auc: number[] };
        randomization?: { steps: { layer: string; correlations: number[] }[]; flagged: boolean[] };
      }
    >;
  };
  assert.deepEqual(Object.keys(json.methods), ['saliency', 'random']);
  assert.equal(json.fractions.length, 9);
  for (const m of Object.values(json.methods)) {
    assert.equal(m.deletion.curves[0].length, 9);
    for (const auc of [...m.deletion.auc, ...m.insertion.auc]) assert.ok(auc >= 0 && auc <= 1);
  }
  assert.ok(json.methods.saliency.insertion.meanAuc > json.methods.random.insertion.meanAuc);
  const rnd = json.methods.saliency.randomization!;
  assert.deepEqual(
    rnd.steps.map((s) => s.layer),
    ['classifier.1', 'features.12'],
  );
  assert.equal(rnd.flagged.length, 2);
  assert.equal(json.methods.random.randomization, undefined);

  const text = await runCli(['evaluate', image(1), '--curve-steps', '4']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^method\s+deletion AUC/m);
  assert.match(text.stdout, /^saliency\s+0\.\d{3}\s+0\.\d{3}/m);
  assert.match(text.stdout, /^random\s+0\.\d{3}/m);
});

test('bad method, layer, flag values and models fail clearly, without a stack trace or an output file', async () => {
  const dir = tmp();
  const out = join(dir, 'never.png');
  const cases: [string[], number, RegExp][] = [
    [
      ['attribute', image(1), '--method', 'gradcam+', '-o', out],
      2,
      /unknown method 'gradcam\+'.*saliency, smoothgrad/,
    ],
    [
      ['attribute', image(1), '--method', 'gradcam', '--layer', 'features.99', '-o', out],
      1,
      /no layer or tensor named 'features.99'/,
    ],
    [['attribute', image(1), '--baseline', 'grey', '-o', out], 2, /--baseline.*grey/],
    [['attribute', image(1), '--clip', '0', '-o', out], 2, /--clip must be in \(0, 100\]/],
    [
      ['attribute', image(1), image(2), '--target', 'a', 'b', 'c', '-o', out],
      2,
      /one class or one per image \(2\)/,
    ],
    [['evaluate', image(1), '--check', 'deletion,speed'], 2, /unknown check 'speed'/],
  ];
  for (const [args, code, message] of cases) {
    const run = await runCli(args);
    assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  }
  assert.ok(!existsSync(out));

  // Another classifier through its sidecar (a 10-class fixture net at 32×32): Grad-CAM finds its own layer.
  const model = decodeModel(readFileSync(join(FIXTURES, 'vgg_head.onnx')));
  const path = join(dir, 'head.onnx');
  writeFileSync(path, encodeModel(model));
  writeFileSync(
    join(dir, 'head.json'),
    JSON.stringify({
      labels: Array.from({ length: 10 }, (_, i) => `shape ${i}`),
      preprocessing: { resize: 32, crop: 32 },
    }),
  );
  const ok = await runCli([
    'attribute',
    image(1),
    '--model',
    path,
    '--method',
    'gradcam,occlusion',
    '--window',
    '8',
    '--stride',
    '8',
    '-o',
    out,
    '--json',
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const json = JSON.parse(ok.stdout) as AttributeJson;
  assert.equal(json.images[0].methods.gradcam.layer, 'f.5');
  assert.ok(existsSync(out));
});

test('Ctrl-C during attribute exits 130 and writes no figure', async () => {
  const dir = tmp();
  let sent = false;
  const run = await runCli(
    [
      'attribute',
      image(1),
      '--method',
      'ig',
      '--steps',
      '400',
      '--batch-size',
      '2',
      '--progress',
      '-o',
      join(dir, 'ig.png'),
    ],
    {
      onStderr: (text, kill) => {
        if (!sent && /ig: step \d+\/400/.test(text)) {
          sent = true;
          kill('SIGINT');
        }
      },
    },
  );
  assert.ok(sent, `never saw progress: ${run.stderr}`);
  assert.equal(run.code, 130, run.stderr);
  assert.match(run.stderr, /interrupted; no output written/);
  assert.deepEqual(readdirSync(dir), []);
});

test('attribute --save-maps writes the library’s maps exactly as float32 .npy with a JSON sidecar, one pair per method', async () => {
  const dir = tmp();
  const run = await runCli([
    'attribute',
    image(0),
    image(1),
    '--method',
    'gradcam,input-x-gradient',
    '--target',
    '76',
    '-o',
    join(dir, 'fig.png'),
    '--save-maps',
    join(dir, 'maps.npy'),
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(readdirSync(dir).sort(), [
    'fig.png',
    'maps-gradcam.json',
    'maps-gradcam.npy',
    'maps-input-x-gradient.json',
    'maps-input-x-gradient.npy',
  ]);
  const classifier = await loadClassifier();
  try {
    const { tensor } = await loadImageBatch([image(0), image(1)], classifier.preprocessing);
    for (const [method, dims] of [
      ['gradcam', [2, 224, 224]],
      ['input-x-gradient', [2, 3, 224, 224]],
    ] as const) {
      const saved = readNpy(join(dir, `maps-${method}.npy`));
      const library = await attributionMethod(method)!.run(classifier, tensor, [76, 76], {});
      assert.deepEqual(saved.dims, dims);
      assert.deepEqual(
        saved.data,
        library.maps.data,
        `${method}: the saved maps are the library's, bit for bit`,
      );
      const sidecar = JSON.parse(readFileSync(join(dir, `maps-${method}.json`), 'utf8'));
      assert.equal(sidecar.maps, `maps-${method}.npy`);
      assert.deepEqual(sidecar.shape, dims);
      assert.deepEqual(sidecar.images, [image(0), image(1)]);
      assert.deepEqual(
        sidecar.labels.map((l: { index: number }) => l.index),
        [76, 76],
      );
      assert.equal(sidecar.family, method === 'gradcam' ? 'cam' : 'gradient');
      if (method === 'gradcam') assert.equal(sidecar.layer, 'features.12');
    }
  } finally {
    await classifier.dispose();
  }
  // One method: the name as given; a name without .npy is a usage error and nothing is written.
  const one = await runCli([
    'attribute',
    image(0),
    '--save-maps',
    join(dir, 'one.npy'),
    '-o',
    join(dir, 'one.png'),
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /maps in .*one\.npy/);
  assert.ok(existsSync(join(dir, 'one.json')));
  const bad = await runCli([
    'attribute',
    image(0),
    '--save-maps',
    join(dir, 'x.bin'),
    '-o',
    join(dir, 'x.png'),
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--save-maps: give a file name ending in \.npy/);
  assert.ok(!existsSync(join(dir, 'x.png')));
});

test('attribute --feature-mask: KernelSHAP/LIME take the user’s labels; a mask of the wrong shape fails before any work', async () => {
  const dir = tmp();
  // Two halves: left and right.
  const mask = Float32Array.from({ length: 224 * 224 }, (_, p) => (p % 224 < 112 ? 0 : 1));
  writeFileSync(join(dir, 'halves.npy'), encodeNpy(mask, [224, 224]));
  const run = await runCli([
    'attribute',
    image(1),
    '--method',
    'kernel-shap',
    '--samples',
    '6',
    '--feature-mask',
    join(dir, 'halves.npy'),
    '-o',
    join(dir, 'ks.png'),
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as AttributeJson;
  assert.equal(json.images[0].methods['kernel-shap'].features, 2);
  assert.ok(Math.abs(json.images[0].methods['kernel-shap'].completenessGap as number) < 1e-4);
  writeFileSync(join(dir, 'small.npy'), encodeNpy(new Float32Array(16), [4, 4]));
  const bad = await runCli([
    'attribute',
    image(1),
    '--method',
    'lime',
    '--feature-mask',
    join(dir, 'small.npy'),
    '-o',
    join(dir, 'b.png'),
  ]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /small\.npy: a feature mask of shape \(4, 4\), expected \(224, 224\)/);
  assert.doesNotMatch(bad.stderr, /at .*\.js/);
});
