// Importing users' models: every form in ../shared/fixtures/import against PyTorch autograd, the opset rewrites
// against ONNX Runtime running the original opset, and the one-line refusals.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GRADIENT_OPSET } from '../src/autodiff/opset.js';
import { oneHot, softmaxRows } from '../src/methods/common.js';
import { loadClassifier } from '../src/model/load.js';
import type { AttrValue } from '../src/onnx/attributes.js';
import { convertOpset } from '../src/onnx/opset-convert.js';
import { cloneModel, decodeModel, encodeModel, ModelError, type onnx } from '../src/onnx/proto.js';
import { tensorValueInfo } from '../src/onnx/shape.js';
import { nodeBackend } from '../src/runtime/node.js';
import { sliceBatch, type Tensor } from '../src/tensor.js';
import { encodeNpy } from '../src/util/npy.js';
import { readNpy } from './support/npy.js';
import { relativeL2, runCli, SHARED } from './support/shared.js';
import { buildModel, floatInit, rng } from './support/tiny-graph.js';

const DIR = join(SHARED, 'fixtures', 'import');
const meta = JSON.parse(readFileSync(join(DIR, 'meta.json'), 'utf8')) as Record<
  string,
  { targets: number[]; opset: number; outputs: string[] }
>;
const tmp = mkdtempSync(join(tmpdir(), 'netvis-import-'));
const LABELS = join(tmp, 'labels10.json');
writeFileSync(LABELS, JSON.stringify(Array.from({ length: 10 }, (_, i) => `class ${i}`)));

const fixture = (name: string) => ({
  model: join(DIR, `${name}.onnx`),
  x: readNpy(join(DIR, `${name}.input.npy`)),
  logits: readNpy(join(DIR, `${name}.logits.npy`)),
  grad: readNpy(join(DIR, `${name}.grad.npy`)),
});
// The float16 model computes in float32 from float16-rounded weights, while its reference is float32 autograd on the
// unrounded ones: its probabilities differ by about 3e-5 and its gradient by 4e-4 (relative L2).
const gradTolerance = (name: string) => (name === 'float16_weights' ? 2e-2 : 1e-3);
const probTolerance = (name: string) => (name === 'float16_weights' ? 1e-3 : 1e-5);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('every import fixture: probabilities and input gradients match PyTorch', () => {
  for (const [name, m] of Object.entries(meta)) {
    test(`${name} (opset ${m.opset}, outputs ${m.outputs.join(', ')})`, async (t) => {
      const f = fixture(name);
      const c = await loadClassifier({ model: f.model, labels: LABELS });
      try {
        const probs = softmaxRows(await c.logits(f.x));
        const probErr = maxAbsDiff(probs, softmaxRows(f.logits));
        assert.ok(probErr <= probTolerance(name), `probabilities differ by ${probErr}`);
        const { grad } = await c.inputGradient(f.x, oneHot(m.targets, 10));
        const err = relativeL2(grad.data, f.grad.data);
        t.diagnostic(
          `probabilities ${probErr.toExponential(1)}, gradient relative L2 ${err.toExponential(1)}`,
        );
        assert.ok(err <= gradTolerance(name), `gradient relative L2 ${err}`);
      } finally {
        await c.dispose();
      }
    });
  }
});

test('the import says what it decided for each form', async () => {
  const report = async (name: string) => {
    const c = await loadClassifier({ model: join(DIR, `${name}.onnx`), labels: LABELS });
    await c.dispose();
    return { report: c.report!, c };
  };
  const softmax = await report('softmax_output');
  assert.equal(softmax.report.logits.lookedThrough, 'Softmax');
  assert.equal(softmax.c.outputName, '/net/fc/Gemm_output_0');
  assert.equal((await report('logsoftmax_output')).report.logits.lookedThrough, 'LogSoftmax');
  const old = await report('softmax_output_opset11');
  assert.deepEqual(
    [old.report.opset.declared, old.report.opset.used, old.report.logits.lookedThrough],
    [11, 16, 'Softmax'],
  );
  const two = await report('two_outputs_logits_second');
  assert.equal(two.c.outputName, 'logits');
  assert.match(two.report.logits.reason, /the only output N×10/);
  const nhwc = await report('nhwc_input');
  assert.equal(nhwc.report.input.layout, 'NHWC');
  assert.deepEqual(
    nhwc.c.model.graph.input[0].type!.tensorType!.shape!.dim!.map((d) => d.dimValue || d.dimParam),
    ['N', 3, 32, 32],
  );
  const fixed = await report('static_batch1');
  assert.equal(fixed.report.fixedBatch, 1);
  assert.equal(fixed.c.fixedBatch, 1);
  assert.deepEqual((await report('bn_opset9')).report.opset, {
    declared: 9,
    used: 16,
    rewritten: { BatchNormalization: 1 },
  });
  assert.deepEqual((await report('view_opset9')).report.opset.rewritten, { Unsqueeze: 1 });
  assert.deepEqual((await report('external_data')).report.externalData, ['external_data.onnx.data']);
  const half = (await report('float16_weights')).report.float16;
  assert.deepEqual(half, { tensors: 4, casts: 1, folded: 0, valueInfos: 0 });
  // A fixed 32×32 input sets the crop, and the resize keeps ImageNet's 256/224.
  assert.deepEqual([softmax.c.preprocessing.crop, softmax.c.preprocessing.resize], [32, 37]);
});

/** Runs a model's first output on `x` in ONNX Runtime as it is (any opset). */
async function run(model: onnx.ModelProto, x: Tensor): Promise<Float32Array> {
  const session = await nodeBackend.createSession(encodeModel(model), { threads: 1 });
  try {
    const out = await session.run({ x: { type: 'float32', dims: x.dims, data: x.data } });
    return out[model.graph.output[0].name].data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('opset conversion keeps each rewritten operator meaning what it meant at its old opset', () => {
  const r = rng(5);
  const x: Tensor = { data: Float32Array.from({ length: 2 * 3 * 4 }, () => 2 * r() - 1), dims: [2, 3, 4] };
  const cases: { op: string; opset: number; attrs?: Record<string, AttrValue>; rewritten?: string }[] = [
    { op: 'Softmax', opset: 11, attrs: { axis: { i: 1 } }, rewritten: 'Softmax' },
    { op: 'LogSoftmax', opset: 12, rewritten: 'LogSoftmax' },
    { op: 'Hardmax', opset: 9, attrs: { axis: { i: 2 } }, rewritten: 'Hardmax' },
    { op: 'Unsqueeze', opset: 11, attrs: { axes: { ints: [0, 3] } }, rewritten: 'Unsqueeze' },
    {
      op: 'ReduceSum',
      opset: 12,
      attrs: { axes: { ints: [-1] }, keepdims: { i: 0 } },
      rewritten: 'ReduceSum',
    },
    { op: 'Clip', opset: 9, attrs: { min: { f: -0.25 }, max: { f: 0.5 } }, rewritten: 'Clip' },
    {
      op: 'Pad',
      opset: 9,
      attrs: { pads: { ints: [0, 1, 0, 0, 0, 2] }, value: { f: 0.5 } },
      rewritten: 'Pad',
    },
    {
      op: 'Slice',
      opset: 9,
      attrs: { starts: { ints: [1, 0] }, ends: { ints: [3, 3] }, axes: { ints: [2, 1] } },
      rewritten: 'Slice',
    },
    { op: 'Dropout', opset: 10, attrs: { ratio: { f: 0.5 } }, rewritten: 'Dropout' },
    { op: 'ReduceMean', opset: 9, attrs: { axes: { ints: [1] } } },
  ];
  for (const c of cases) {
    test(`${c.op} at opset ${c.opset}`, async () => {
      const model = buildModel({
        inputs: [{ name: 'x', dims: x.dims, dtype: 'float32' }],
        outputs: ['y'],
        nodes: [{ op: c.op, inputs: ['x'], outputs: ['y'], attrs: c.attrs }],
        opset: c.opset,
      });
      const converted = cloneModel(model);
      const conversion = convertOpset(converted, GRADIENT_OPSET);
      assert.deepEqual(conversion?.rewritten, c.rewritten ? { [c.rewritten]: 1 } : {});
      assert.deepEqual(await run(converted, x), await run(model, x));
    });
  }
  test('Split and Squeeze at opset 11 (attributes become inputs)', async () => {
    const model = buildModel({
      inputs: [{ name: 'x', dims: x.dims, dtype: 'float32' }],
      outputs: ['y'],
      nodes: [
        {
          op: 'Split',
          inputs: ['x'],
          outputs: ['a', 'b'],
          attrs: { axis: { i: 1 }, split: { ints: [1, 2] } },
        },
        { op: 'Squeeze', inputs: ['a'], outputs: ['y'], attrs: { axes: { ints: [1] } } },
      ],
      opset: 11,
    });
    const converted = cloneModel(model);
    assert.deepEqual(convertOpset(converted, GRADIENT_OPSET)?.rewritten, { Split: 1, Squeeze: 1 });
    assert.deepEqual(await run(converted, x), await run(model, x));
  });
  test('what cannot be converted is named, with onnx.version_converter as the way', () => {
    const model = buildModel({
      inputs: [{ name: 'x', dims: [1, 1, 2, 2], dtype: 'float32' }],
      outputs: ['y'],
      nodes: [
        { op: 'Upsample', inputs: ['x', 's'], outputs: ['y'], name: 'up', attrs: { mode: { s: 'nearest' } } },
      ],
      initializers: [floatInit('s', 'float32', [4], [1, 1, 2, 2])],
      opset: 9,
    });
    assert.throws(
      () => convertOpset(model, GRADIENT_OPSET, 'up.onnx'),
      (e: Error) =>
        e instanceof ModelError &&
        e.message ===
          "up.onnx: opset 9 cannot be converted to 16 here: Upsample node 'up' (its meaning changed at opset 10); convert the model with onnx.version_converter.convert_version(model, 16) and load the result",
    );
  });
});

/** A tiny classifier file: input `x` of `inDims`, Conv 3→2 channels (or 1→2), global pool, output of `outDims`. */
function tinyModelFile(
  name: string,
  {
    inDims,
    outDims,
    flatten = true,
  }: { inDims: (number | string)[]; outDims: (number | string)[]; flatten?: boolean },
): string {
  const channels = inDims.length === 4 ? (inDims[1] as number) : 1;
  const model = buildModel({
    inputs: [{ name: 'x', dims: [1], dtype: 'float32' }],
    outputs: ['y'],
    nodes:
      inDims.length === 4
        ? [
            { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'] },
            { op: 'GlobalAveragePool', inputs: ['c'], outputs: [flatten ? 'p' : 'y'] },
            ...(flatten ? [{ op: 'Flatten', inputs: ['p'], outputs: ['y'] }] : []),
          ]
        : [{ op: 'MatMul', inputs: ['x', 'm'], outputs: ['y'] }],
    initializers:
      inDims.length === 4
        ? [
            floatInit(
              'w',
              'float32',
              [2, channels, 1, 1],
              [0.5, -0.25, 1, 0.75, 0.5, -1].slice(0, 2 * channels),
            ),
          ]
        : [floatInit('m', 'float32', [4, 2], [1, 0, 0, 1, 1, 1, -1, 0])],
  });
  model.graph.input[0] = tensorValueInfo('x', 1, inDims);
  model.graph.output[0] = tensorValueInfo('y', 1, outDims);
  const path = join(tmp, `${name}.onnx`);
  writeFileSync(path, encodeModel(model));
  return path;
}

test('a grayscale model gets RGB turned to luma in the graph; its mean and std may be single values', async () => {
  const path = tinyModelFile('gray', { inDims: ['N', 1, 'H', 'W'], outDims: ['N', 2] });
  writeFileSync(
    join(tmp, 'gray.json'),
    JSON.stringify({ labels: ['dark', 'light'], preprocessing: { mean: [0.5], std: [0.25] } }),
  );
  const c = await loadClassifier({ model: path });
  try {
    assert.deepEqual(c.preprocessing.mean, [0.5, 0.5, 0.5]);
    const rgb: Tensor = {
      data: Float32Array.from({ length: 3 * 4 }, (_, i) => (i % 5) - 2),
      dims: [1, 3, 2, 2],
    };
    const gray: Tensor = {
      data: Float32Array.from(
        { length: 4 },
        (_, p) => 0.299 * rgb.data[p] + 0.587 * rgb.data[4 + p] + 0.114 * rgb.data[8 + p],
      ),
      dims: [1, 1, 2, 2],
    };
    const original = decodeModel(readFileSync(path));
    const want = await run(original, gray);
    const got = (await c.logits(rgb)).data;
    assert.ok(maxAbsDiff(got, want) < 1e-6, `${got} vs ${want}`);
    assert.equal((await c.inputGradient(rgb, oneHot([1], 2))).grad.dims.join(), '1,3,2,2');
  } finally {
    await c.dispose();
  }
});

test('models that cannot be used are refused in one line naming the model and both numbers', async () => {
  const cases = [
    {
      args: [
        '--model',
        join(DIR, 'plain_opset17.onnx'),
        '--labels',
        join(SHARED, 'models', 'imagenet_classes.json'),
      ],
      message: `${join(DIR, 'plain_opset17.onnx')}: no output has 1000 columns (the label count); outputs: 'logits' N×10`,
    },
    {
      args: [
        '--model',
        tinyModelFile('flat', { inDims: ['N', 4], outDims: ['N', 2] }),
        '--labels',
        join(tmp, 'two.json'),
      ],
      message: `${join(tmp, 'flat.onnx')}: input 'x' is N×4 (rank 2); netvis needs an image batch of rank 4, N×C×H×W or N×H×W×C`,
    },
    {
      args: [
        '--model',
        tinyModelFile('spatial', { inDims: ['N', 3, 'H', 'W'], outDims: ['N', 2, 1, 1], flatten: false }),
        '--labels',
        join(tmp, 'two.json'),
      ],
      message: `${join(tmp, 'spatial.onnx')}: no 2-D output (N×classes, 2 classes for these labels); outputs: 'y' N×2×1×1`,
    },
    {
      args: [
        '--model',
        join(DIR, 'two_outputs_logits_second.onnx'),
        '--labels',
        LABELS,
        '--logits',
        'embedding',
      ],
      message: `${join(DIR, 'two_outputs_logits_second.onnx')}: the logits 'embedding' N×8 have 8 classes, but the labels have 10`,
    },
  ];
  writeFileSync(join(tmp, 'two.json'), JSON.stringify(['a', 'b']));
  const image = join(tmp, 'one.npy');
  writeFileSync(image, encodeNpy(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]));
  for (const c of cases) {
    const r = await runCli(['classify', image, ...c.args]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `netvis: ${c.message}\n`);
  }
});

describe('through the CLI', () => {
  /** Each image of a fixture's input as a 1×3×32×32 .npy file. */
  const npyImages = (name: string) =>
    [0, 1].map((i) => {
      const path = join(tmp, `${name}.${i}.npy`);
      writeFileSync(path, encodeNpy(sliceBatch(fixture(name).x, i).data, [1, 3, 32, 32]));
      return path;
    });
  for (const name of ['static_batch1', 'softmax_output', 'nhwc_input', 'external_data']) {
    test(`${name}: classify gives softmax(logits), SmoothGrad at noise 0 gives the gradient`, async (t) => {
      const f = fixture(name);
      const images = npyImages(name);
      const model = ['--model', f.model, '--labels', LABELS];
      const classified = await runCli(['classify', ...images, ...model, '-k', '10', '--json']);
      assert.equal(classified.code, 0, classified.stderr);
      const rows = JSON.parse(classified.stdout) as { top: { index: number; probability: number }[] }[];
      const want = softmaxRows(f.logits);
      const probs = rows.flatMap((row, i) =>
        row.top.map((p) => Math.abs(p.probability - want[i * 10 + p.index])),
      );
      assert.equal(probs.length, 20);
      assert.ok(Math.max(...probs) <= probTolerance(name), `probabilities differ by ${Math.max(...probs)}`);
      // SmoothGrad runs its noisy copies in batches (here 2 per run, chunked to 1 for the fixed-batch model).
      const out = join(tmp, `${name}.grad.npy`);
      const targets = meta[name].targets.map(String);
      const attributed = await runCli([
        'attribute',
        ...images,
        ...model,
        '--method',
        'smoothgrad',
        '--noise-level',
        '0',
        '--samples',
        '3',
        '--batch-size',
        '2',
        '--target',
        ...targets,
        '-o',
        join(tmp, `${name}.png`),
        '--save-maps',
        out,
      ]);
      assert.equal(attributed.code, 0, attributed.stderr);
      const err = relativeL2(readNpy(out).data, f.grad.data);
      t.diagnostic(`gradient relative L2 ${err.toExponential(1)}`);
      assert.ok(err <= gradTolerance(name), `gradient relative L2 ${err}`);
    });
  }
});
