// MaxPool's backward built from strided slices against the form that scatters onto the Indices output: bit for bit,
// on crafted ties (including ceil_mode overrun, pads, 1-D and 3-D pooling) and on SqueezeNet's three pools.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compileGradient } from '../src/autodiff/compile.js';
import { gradientRules } from '../src/autodiff/rules/index.js';
import { maxPoolByIndices } from '../src/autodiff/rules/pooling.js';
import type { GradientRule, GradientSpec, ReluRule } from '../src/autodiff/types.js';
import type { Classifier } from '../src/model/classifier.js';
import { loadClassifier } from '../src/model/load.js';
import { encodeModel, type onnx } from '../src/onnx/proto.js';
import type { RuntimeTensor } from '../src/runtime/backend.js';
import { nodeBackend } from '../src/runtime/node.js';
import { probeTensorInfo } from '../src/runtime/probe.js';
import { readNpy } from './support/npy.js';
import { REFERENCE, referenceMeta } from './support/shared.js';
import { buildModel, rng, size } from './support/tiny-graph.js';

const RULES: ReluRule[] = ['standard', 'guided', 'deconvnet'];
const rules = gradientRules as Record<string, GradientRule>;
const bySlices = rules.MaxPool;

/** The gradients a compiled graph outputs with MaxPool's backward by slices, and by indices. `input`: the graph input. */
async function bothForms(
  model: onnx.ModelProto,
  spec: GradientSpec,
  feeds: Record<string, RuntimeTensor>,
  input = 'x',
) {
  const info = await probeTensorInfo(nodeBackend, model, { [input]: feeds[input] });
  const results = [];
  for (const rule of [bySlices, maxPoolByIndices]) {
    rules.MaxPool = rule;
    let compiled;
    try {
      compiled = compileGradient(model, spec, info);
    } finally {
      rules.MaxPool = bySlices;
    }
    const session = await nodeBackend.createSession(encodeModel(compiled.model));
    try {
      const out = await session.run(feeds, Object.values(compiled.gradOutputs));
      results.push(Object.values(compiled.gradOutputs).map((name) => out[name].data as Float32Array));
    } finally {
      await session.release();
    }
  }
  return results;
}

/** Positions where two float32 arrays differ in their bits. */
function bitDifferences(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let d = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) d++;
  return d;
}

describe('MaxPool backward by strided slices', () => {
  const cases: { name: string; x: number[]; attrs: Record<string, { ints: number[] } | { i: number }> }[] = [
    {
      name: '3×3 stride 2, ceil_mode overrunning the input',
      x: [2, 3, 8, 8],
      attrs: { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, ceil_mode: { i: 1 } },
    },
    {
      name: '3×3 stride 2, pads 1',
      x: [2, 3, 9, 7],
      attrs: { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } },
    },
    {
      name: '3×3 stride 1, pads 1 (nine windows per position)',
      x: [1, 2, 6, 6],
      attrs: { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } },
    },
    {
      name: '2×3 strides 2×3, ceil_mode, no overlap',
      x: [1, 2, 7, 8],
      attrs: { kernel_shape: { ints: [2, 3] }, strides: { ints: [2, 3] }, ceil_mode: { i: 1 } },
    },
    {
      name: '3×3 stride 3, input left over at the end',
      x: [1, 2, 8, 8],
      attrs: { kernel_shape: { ints: [3, 3] }, strides: { ints: [3, 3] } },
    },
    {
      name: '1-D, kernel 4 stride 2, ceil_mode',
      x: [2, 3, 11],
      attrs: { kernel_shape: { ints: [4] }, strides: { ints: [2] }, ceil_mode: { i: 1 } },
    },
    { name: '3-D, 2×2×2 stride 1', x: [1, 2, 4, 5, 4], attrs: { kernel_shape: { ints: [2, 2, 2] } } },
  ];
  for (const c of cases) {
    test(`${c.name}: equals the indices form bit for bit on tied inputs, after a ReLU under each rule`, async () => {
      const model = buildModel({
        inputs: [{ name: 'x', dims: c.x, dtype: 'float32' }],
        outputs: ['y'],
        nodes: [
          { op: 'Relu', inputs: ['x'], outputs: ['r'] },
          { op: 'MaxPool', inputs: ['r'], outputs: ['y'], attrs: c.attrs },
        ],
      });
      const next = rng(size(c.x));
      // Values from {−1, 0, 1, 2}: ties everywhere, zeros from the ReLU among them.
      const x: RuntimeTensor = {
        type: 'float32',
        dims: c.x,
        data: Float32Array.from({ length: size(c.x) }, () => Math.floor(next() * 4) - 1),
      };
      const info = await probeTensorInfo(nodeBackend, model, { x });
      const yDims = info.get('y')!.dims;
      // Seeds of either sign whose sums depend on the order they are added in.
      const dy: RuntimeTensor = {
        type: 'float32',
        dims: yDims,
        data: Float32Array.from(
          { length: size(yDims) },
          () => (next() - 0.4) * 10 ** Math.floor(next() * 6 - 3),
        ),
      };
      for (const relu of RULES) {
        const [[slices], [indices]] = await bothForms(model, { relu }, { x, dy });
        assert.equal(bitDifferences(slices, indices), 0, `${relu}: ${slices} vs ${indices}`);
        assert.ok(indices.some((v) => v !== 0));
      }
    });
  }
});

describe('MaxPool backward by strided slices on SqueezeNet', () => {
  let classifier: Classifier;
  before(async () => {
    classifier = await loadClassifier();
  });
  after(() => classifier.dispose());

  test("equals the indices form bit for bit at each pool's input and at the image, on the 25 inputs, under each ReLU rule", async () => {
    const meta = referenceMeta();
    const inputs = readNpy(join(REFERENCE, 'inputs.npy'));
    const pools = classifier.model.graph.node.filter((n) => n.opType === 'MaxPool').map((n) => n.input[0]);
    assert.equal(pools.length, 3);
    const seed = new Float32Array(25 * 1000);
    meta.labels.forEach((l, i) => (seed[i * 1000 + l] = 1));
    const feeds = {
      input: { type: 'float32' as const, dims: inputs.dims, data: inputs.data },
      dlogits: { type: 'float32' as const, dims: [25, 1000], data: seed },
    };
    for (const relu of RULES) {
      const [slices, indices] = await bothForms(
        classifier.model,
        { relu, wrt: ['input', ...pools] },
        feeds,
        'input',
      );
      slices.forEach((g, k) => assert.equal(bitDifferences(g, indices[k]), 0, `${relu}, gradient ${k}`));
    }
  });
});
