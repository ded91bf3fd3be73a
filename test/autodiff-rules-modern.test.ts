// Finite-difference checks of the gradient rules that transformers and modern convnets need: layer, instance
// and group normalisation, elementary functions, GELU and other activations, Einsum, indexing, Tile and
// Resize. float64 where ONNX Runtime's CPU provider has a double kernel, float32 otherwise.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileGradient } from '../src/autodiff/compile.js';
import { nodeBackend } from '../src/runtime/node.js';
import { probeTensorInfo } from '../src/runtime/probe.js';
import {
  awayFrom,
  distinct,
  f32,
  f64,
  gradTest,
  nonzero,
  tensor,
  uniform,
  variadicModel,
} from './support/gradcheck.js';
import { buildModel, floatInit, int64Init, oneOpModel as op1, size } from './support/tiny-graph.js';

describe('normalisation rules', () => {
  for (const [axis, x] of [
    [-1, [2, 3, 4]],
    [1, [2, 3, 2, 2]],
  ] as const) {
    gradTest(`LayerNormalization: axis ${axis}, x [${x}]`, (r) => ({
      model: op1('LayerNormalization', {
        dtype: f64,
        x: [...x],
        attrs: { axis: { i: axis }, epsilon: { f: 1e-3 } },
        initializers: [
          r.init('scale', f64, x.slice(axis < 0 ? axis : axis)),
          r.init('bias', f64, x.slice(axis)),
        ],
      }),
      x: [...x],
      dtype: f64,
    }));
  }
  // Mean and InvStdDev are float32 (ONNX Runtime has no stash_type 11 kernel): a float32 check.
  gradTest('LayerNormalization: Mean and InvStdDev outputs seeded too', (r) => ({
    model: op1('LayerNormalization', {
      dtype: f32,
      x: [2, 3, 4],
      attrs: { axis: { i: 1 } },
      initializers: [r.init('scale', f32, [3, 4]), r.init('bias', f32, [3, 4])],
      outputs: ['y', 'mean', 'invstd'],
    }),
    x: [2, 3, 4],
    dtype: f32,
  }));
  gradTest('LayerNormalization: no bias, float32', (r) => ({
    model: op1('LayerNormalization', {
      dtype: f32,
      x: [2, 5, 8],
      initializers: [r.init('scale', f32, [8])],
    }),
    x: [2, 5, 8],
    dtype: f32,
  }));
  gradTest('InstanceNormalization: x [2,3,4,5]', (r) => ({
    model: op1('InstanceNormalization', {
      dtype: f32,
      x: [2, 3, 4, 5],
      attrs: { epsilon: { f: 1e-3 } },
      initializers: [r.init('scale', f32, [3]), r.init('bias', f32, [3])],
    }),
    x: [2, 3, 4, 5],
    dtype: f32,
  }));
  // Opset 21 computes in stash_type's float32 even for double inputs: a float32 check.
  for (const [opset, scaleLength, dtype] of [
    [18, 2, f64],
    [21, 4, f32],
  ] as const) {
    gradTest(`GroupNormalization (opset ${opset}: scale per ${opset === 18 ? 'group' : 'channel'})`, (r) => ({
      model: op1('GroupNormalization', {
        dtype,
        x: [2, 4, 3, 2],
        attrs: { num_groups: { i: 2 }, epsilon: { f: 1e-3 } },
        initializers: [r.init('scale', dtype, [scaleLength]), r.init('bias', dtype, [scaleLength])],
        opset,
      }),
      x: [2, 4, 3, 2],
      dtype,
    }));
  }
});

describe('elementary-function rules', () => {
  const X = [2, 3, 4];
  for (const [op, input] of [
    ['Sqrt', uniform(0.2, 2)],
    ['Reciprocal', nonzero()],
    ['Exp', uniform(-2, 2)],
    ['Log', uniform(0.2, 2)],
    ['Abs', awayFrom([0])],
  ] as const) {
    gradTest(op, () => ({ model: op1(op, { dtype: f64, x: X }), x: X, dtype: f64, input }));
  }
  gradTest('Erf (no double kernel: float32)', () => ({
    model: op1('Erf', { dtype: f32, x: X }),
    x: X,
    dtype: f32,
    input: uniform(-2, 2),
  }));
  for (const e of [2, 0.5, -1.5]) {
    gradTest(`Pow: x^${e} (exponent a float constant)`, () => ({
      model: op1('Pow', { dtype: f64, x: X, initializers: [floatInit('e', f64, [], [e])] }),
      x: X,
      dtype: f64,
      input: uniform(0.2, 2),
    }));
  }
  gradTest('Pow: x^3 with an int64 exponent', () => ({
    model: op1('Pow', { dtype: f64, x: X, initializers: [int64Init('e', [3], [])] }),
    x: X,
    dtype: f64,
  }));
  gradTest('Pow: c^x (gradient of the exponent, base broadcast [4])', (r) => ({
    model: op1('Pow', {
      dtype: f64,
      x: X,
      inputs: ['c', 'x'],
      initializers: [r.init('c', f64, [4], 0.5, 2)],
    }),
    x: X,
    dtype: f64,
  }));
  gradTest('Pow: x^x', () => ({
    model: op1('Pow', { dtype: f64, x: X, inputs: ['x', 'x'] }),
    x: X,
    dtype: f64,
    input: uniform(0.2, 2),
  }));
  for (const op of ['Max', 'Min']) {
    gradTest(`${op}: x with a constant [4]`, (r) => ({
      model: op1(op, { dtype: f64, x: X, initializers: [r.init('c', f64, [4], -0.5, 0.5)] }),
      x: X,
      dtype: f64,
      input: distinct(0.07),
    }));
    // The constant is a ramp offset from the inputs' grid, so no input ties with it.
    gradTest(`${op}: three inputs, x, a constant and ReduceMean(x) [2,1,4]`, () => ({
      model: variadicModel(op, f64, floatInit('c', f64, [4], [-0.31, -0.11, 0.13, 0.33])),
      x: X,
      dtype: f64,
      input: distinct(0.07),
    }));
    // Max(x, x) = x: the tied inputs share the gradient, which adds back up to g.
    gradTest(`${op}: x with itself (a tie everywhere)`, () => ({
      model: op1(op, { dtype: f64, x: X, inputs: ['x', 'x'] }),
      x: X,
      dtype: f64,
    }));
  }
});

describe('activation rules (transformer era)', () => {
  const X = [2, 3, 4];
  for (const axis of [-1, 1]) {
    gradTest(`LogSoftmax (axis ${axis})`, () => ({
      model: op1('LogSoftmax', { dtype: f64, x: X, attrs: { axis: { i: axis } } }),
      x: X,
      dtype: f64,
      input: uniform(-2, 2),
    }));
  }
  for (const approximate of ['none', 'tanh']) {
    gradTest(`Gelu (opset 20, approximate '${approximate}'; float32)`, () => ({
      model: op1('Gelu', { dtype: f32, x: X, attrs: { approximate: { s: approximate } }, opset: 20 }),
      x: X,
      dtype: f32,
      input: uniform(-3, 3),
    }));
  }
  gradTest('Softplus (float32)', () => ({
    model: op1('Softplus', { dtype: f32, x: X }),
    x: X,
    dtype: f32,
    input: uniform(-3, 3),
  }));
  gradTest('Elu (alpha 0.7; float32)', () => ({
    model: op1('Elu', { dtype: f32, x: X, attrs: { alpha: { f: 0.7 } } }),
    x: X,
    dtype: f32,
    input: awayFrom([0], -2, 2, 0.05),
  }));
  gradTest('Selu (default alpha and gamma; float32)', () => ({
    model: op1('Selu', { dtype: f32, x: X }),
    x: X,
    dtype: f32,
    input: awayFrom([0], -2, 2, 0.05),
  }));
  gradTest('Mish (opset 18)', () => ({
    model: op1('Mish', { dtype: f64, x: X, opset: 18 }),
    x: X,
    dtype: f64,
    input: uniform(-3, 3),
  }));
  gradTest('PRelu: slope [3,1] broadcast over x [2,3,4]', (r) => ({
    model: op1('PRelu', { dtype: f64, x: X, initializers: [r.init('slope', f64, [3, 1], 0.1, 0.5)] }),
    x: X,
    dtype: f64,
    input: awayFrom([0]),
  }));
  gradTest('PRelu: slope from x (PRelu(c, x), gradient of the slope)', (r) => ({
    model: op1('PRelu', { dtype: f64, x: [3, 1], inputs: ['c', 'x'], initializers: [r.init('c', f64, X)] }),
    x: [3, 1],
    dtype: f64,
  }));
});

describe('Einsum and batched MatMul rules', () => {
  const einsums: { eq: string; x: number[]; other?: number[]; xSecond?: boolean }[] = [
    { eq: 'bhqd,bhkd->bhqk', x: [2, 2, 3, 4], other: [2, 2, 5, 4] },
    { eq: 'bhqk,bhkd->bhqd', x: [2, 2, 3, 5], other: [2, 2, 5, 4] },
    { eq: 'bhqk,bhkd->bhqd', x: [2, 2, 5, 4], other: [2, 2, 3, 5], xSecond: true },
    { eq: 'ij,jk', x: [3, 4], other: [4, 5] },
    { eq: '...ij,...jk->...ik', x: [2, 3, 4], other: [2, 4, 5] },
    { eq: 'bij->bi', x: [2, 3, 4] },
    { eq: 'ij,k->ik', x: [3, 4], other: [5] },
  ];
  for (const c of einsums) {
    gradTest(`Einsum '${c.eq}'${c.xSecond ? ' (x second)' : ''}`, (r) => ({
      model: op1('Einsum', {
        dtype: f64,
        x: c.x,
        inputs: c.other ? (c.xSecond ? ['w', 'x'] : ['x', 'w']) : ['x'],
        attrs: { equation: { s: c.eq } },
        initializers: c.other ? [r.init('w', f64, c.other)] : [],
      }),
      x: c.x,
      dtype: f64,
    }));
  }
  gradTest("Einsum 'bhqd,bhkd->bhqk' with q and k both from x", () => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [2, 2, 3, 4], dtype: f64 }],
      outputs: ['y'],
      nodes: [
        { op: 'Neg', inputs: ['x'], outputs: ['k'] },
        { op: 'Einsum', inputs: ['x', 'k'], outputs: ['y'], attrs: { equation: { s: 'bhqd,bhkd->bhqk' } } },
      ],
    }),
    x: [2, 2, 3, 4],
    dtype: f64,
  }));
  test('Einsum with a diagonal fails, naming the equation', async () => {
    const model = op1('Einsum', { dtype: f32, x: [3, 3], attrs: { equation: { s: 'ii->i' } } });
    const feeds = { x: tensor(f32, [3, 3], new Array<number>(9).fill(0.5)) };
    const info = await probeTensorInfo(nodeBackend, model, feeds);
    assert.throws(() => compileGradient(model, {}, info), /Einsum node .*equation 'ii->i'.*diagonal/);
  });
  // Attention scores q·kᵀ per head: x on both sides of a rank-4 MatMul.
  gradTest('MatMul: q·kᵀ per head, both from x [2,2,3,4]', () => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [2, 2, 3, 4], dtype: f64 }],
      outputs: ['y'],
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['kt'], attrs: { perm: { ints: [0, 1, 3, 2] } } },
        { op: 'MatMul', inputs: ['x', 'kt'], outputs: ['s'] },
        { op: 'Softmax', inputs: ['s'], outputs: ['a'], attrs: { axis: { i: -1 } } },
        { op: 'MatMul', inputs: ['a', 'x'], outputs: ['y'] },
      ],
    }),
    x: [2, 2, 3, 4],
    dtype: f64,
  }));
});

describe('indexing rules', () => {
  // Indices computed from x: right only if the rule reads them at run time (distinct values keep ArgMax stable).
  gradTest('Gather: indices from ArgMax(x) (computed at run time)', () => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [3, 4], dtype: f64 }],
      outputs: ['y'],
      nodes: [
        { op: 'ArgMax', inputs: ['x'], outputs: ['i'], attrs: { axis: { i: 1 }, keepdims: { i: 0 } } },
        { op: 'Gather', inputs: ['x', 'i'], outputs: ['y'], attrs: { axis: { i: 1 } } },
      ],
    }),
    x: [3, 4],
    dtype: f64,
    input: distinct(0.1),
  }));
  gradTest('GatherElements: axis 1, repeated and negative indices', () => ({
    model: op1('GatherElements', {
      dtype: f64,
      x: [2, 3, 4],
      attrs: { axis: { i: 1 } },
      initializers: [int64Init('i', [0, 2, -1, 1, 1, 1, 0, 2, 2, -3, 1, 0, 2, 2, 2, 0], [2, 2, 4])],
    }),
    x: [2, 3, 4],
    dtype: f64,
  }));
  for (const [name, indices, dims] of [
    ['index pairs [3,2] (a repeat, a negative)', [1, 2, 0, 0, -1, 2], [3, 2]],
    ['single indices [2,1] (whole rows)', [1, 0], [2, 1]],
  ] as const) {
    gradTest(`GatherND: ${name}`, () => ({
      model: op1('GatherND', {
        dtype: f64,
        x: [2, 3, 4],
        initializers: [int64Init('i', [...indices], [...dims])],
      }),
      x: [2, 3, 4],
      dtype: f64,
    }));
  }
  for (const reduction of ['none', 'add']) {
    // data = x, updates = 2·x[1] (a slice of x): both gradients flow back to x.
    gradTest(`ScatterND: reduction ${reduction}, data and updates from x`, () => ({
      model: buildModel({
        inputs: [{ name: 'x', dims: [3, 4], dtype: f64 }],
        outputs: ['y'],
        nodes: [
          { op: 'Gather', inputs: ['x', 'one'], outputs: ['row'], attrs: { axis: { i: 0 } } },
          { op: 'Mul', inputs: ['row', 'two'], outputs: ['u'] },
          {
            op: 'ScatterND',
            inputs: ['x', 'at', 'u'],
            outputs: ['y'],
            attrs: { reduction: { s: reduction } },
          },
        ],
        initializers: [
          int64Init('one', [1], [1]),
          floatInit('two', f64, [], [2]),
          int64Init('at', [2], [1, 1]),
        ],
      }),
      x: [3, 4],
      dtype: f64,
    }));
  }
  gradTest('Where: x as the true branch, a constant as the false one', (r) => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [2, 3], dtype: f64 }],
      outputs: ['y'],
      nodes: [
        { op: 'Greater', inputs: ['c', 'zero'], outputs: ['cond'] },
        { op: 'Where', inputs: ['cond', 'x', 'c'], outputs: ['y'] },
      ],
      initializers: [r.init('c', f64, [2, 3]), floatInit('zero', f64, [], [0])],
    }),
    x: [2, 3],
    dtype: f64,
  }));
  gradTest('Where: x [3] broadcast as the false branch, and a mask from x', (r) => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [3], dtype: f64 }],
      outputs: ['y'],
      nodes: [
        { op: 'Greater', inputs: ['x', 'zero'], outputs: ['cond'] },
        { op: 'Where', inputs: ['cond', 'c', 'x'], outputs: ['y'] },
      ],
      initializers: [r.init('c', f64, [2, 3]), floatInit('zero', f64, [], [0])],
    }),
    x: [3],
    dtype: f64,
    input: awayFrom([0]),
  }));
  gradTest('Tile: repeats [2, 1, 3]', () => ({
    model: op1('Tile', { dtype: f64, x: [2, 3, 2], initializers: [int64Init('repeats', [2, 1, 3])] }),
    x: [2, 3, 2],
    dtype: f64,
  }));
});

describe('Resize rule (no double kernel: float32)', () => {
  const cases: {
    name: string;
    x: number[];
    attrs: Record<string, { s: string } | { ints: number[] }>;
    scales?: number[];
    sizes?: number[];
    opset?: number;
  }[] = [
    {
      name: 'nearest ×2, half_pixel, round_prefer_floor',
      x: [1, 2, 3, 4],
      attrs: { mode: { s: 'nearest' } },
      scales: [1, 1, 2, 2],
    },
    {
      name: 'nearest ×2, asymmetric, floor (PyTorch nearest)',
      x: [1, 2, 3, 4],
      attrs: {
        mode: { s: 'nearest' },
        coordinate_transformation_mode: { s: 'asymmetric' },
        nearest_mode: { s: 'floor' },
      },
      scales: [1, 1, 2, 2],
    },
    {
      name: 'nearest to sizes 5×3 (down and up)',
      x: [1, 1, 4, 5],
      attrs: { mode: { s: 'nearest' } },
      sizes: [1, 1, 5, 3],
    },
    {
      name: 'linear ×2, half_pixel',
      x: [1, 2, 3, 4],
      attrs: { mode: { s: 'linear' } },
      scales: [1, 1, 2, 2],
    },
    {
      name: 'linear to sizes 7×5, align_corners',
      x: [2, 1, 3, 4],
      attrs: { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'align_corners' } },
      sizes: [2, 1, 7, 5],
    },
    {
      name: 'linear ×0.5, pytorch_half_pixel (downsampling)',
      x: [1, 2, 6, 4],
      attrs: { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'pytorch_half_pixel' } },
      scales: [1, 1, 0.5, 0.5],
    },
    {
      name: 'linear ×1.5, half_pixel_symmetric',
      x: [1, 1, 4, 4],
      attrs: { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'half_pixel_symmetric' } },
      scales: [1, 1, 1.5, 1.5],
      opset: 19,
    },
    {
      name: 'linear, axes [2, 3] (opset 18), scales 2×3',
      x: [1, 2, 3, 2],
      attrs: { mode: { s: 'linear' }, axes: { ints: [2, 3] } },
      scales: [2, 3],
      opset: 18,
    },
  ];
  for (const c of cases) {
    gradTest(`Resize: ${c.name}`, () => ({
      model: op1('Resize', {
        dtype: f32,
        x: c.x,
        inputs: c.scales ? ['x', '', 'scales'] : ['x', '', '', 'sizes'],
        attrs: c.attrs,
        initializers: c.scales
          ? [floatInit('scales', f32, [c.scales.length], c.scales)]
          : [int64Init('sizes', c.sizes!)],
        opset: c.opset,
      }),
      x: c.x,
      dtype: f32,
    }));
  }
  test('Resize with cubic mode fails, naming the mode', async () => {
    const model = op1('Resize', {
      dtype: f32,
      x: [1, 1, 3, 3],
      inputs: ['x', '', 'scales'],
      attrs: { mode: { s: 'cubic' } },
      initializers: [floatInit('scales', f32, [4], [1, 1, 2, 2])],
    });
    const feeds = { x: tensor(f32, [1, 1, 3, 3], new Array<number>(size([1, 1, 3, 3])).fill(0.5)) };
    const info = await probeTensorInfo(nodeBackend, model, feeds);
    assert.throws(() => compileGradient(model, {}, info), /Resize node .*mode 'cubic' is not supported/);
  });
});
