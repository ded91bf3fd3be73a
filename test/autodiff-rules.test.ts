// Finite-difference checks of every gradient rule, and of how the compiler wires rules together
// (the checks themselves are in support/gradcheck.ts). Inputs keep clear of kinks (ReLU-like thresholds,
// MaxPool ties) so that piecewise-linear ops are differentiable within ±eps.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileGradient } from '../src/autodiff/compile.js';
import { DECONVNET, GUIDED_BACKPROP } from '../src/autodiff/composite.js';
import { GRADIENT_OPSET } from '../src/autodiff/opset.js';
import { convertOpset } from '../src/onnx/opset-convert.js';
import { cloneModel, defaultOpset, type onnx } from '../src/onnx/proto.js';
import { nodeBackend } from '../src/runtime/node.js';
import { probeTensorInfo } from '../src/runtime/probe.js';
import {
  asNumbers,
  awayFrom,
  backwardNodes,
  checkGradient,
  distinct,
  f32,
  f64,
  gradTest,
  nonzero,
  Random,
  runGradient,
  tensor,
  uniform,
  variadicModel,
} from './support/gradcheck.js';
import { buildModel, floatInit, int64Init, oneOpModel, size, type OneOp } from './support/tiny-graph.js';

/** A one-op model `y = op(x, initializers...)`. */
const op1 = oneOpModel;

// ---------------------------------------------------------------------------------------------------
// Elementwise arithmetic

describe('elementwise rules', () => {
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    gradTest(`${op}: x [2,3,4] with a constant [3,1]`, (r) => ({
      model: op1(op, { dtype: f64, x: [2, 3, 4], initializers: [r.nonzeroInit('c', f64, [3, 1])] }),
      x: [2, 3, 4],
      dtype: f64,
    }));
    gradTest(`${op}: constant [2,3,4] with x [3,1] (gradient summed over broadcast axes)`, (r) => ({
      model: op1(op, {
        dtype: f64,
        x: [3, 1],
        inputs: ['c', 'x'],
        initializers: [r.init('c', f64, [2, 3, 4])],
      }),
      x: [3, 1],
      dtype: f64,
      input: nonzero(),
    }));
    // Both operands depend on x; the ReduceSum side broadcasts. Div divides by x (kept off zero).
    gradTest(`${op}: both operands from x (x and ReduceSum(x) [2,3,1])`, () => ({
      model: buildModel({
        inputs: [{ name: 'x', dims: [2, 3, 4], dtype: f64 }],
        outputs: ['y'],
        nodes: [
          { op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['s'], attrs: { keepdims: { i: 1 } } },
          { op, inputs: op === 'Div' ? ['s', 'x'] : ['x', 's'], outputs: ['y'] },
        ],
        initializers: [int64Init('axes', [2])],
      }),
      x: [2, 3, 4],
      dtype: f64,
      input: nonzero(),
    }));
  }

  // Sum and Mean with three broadcasting inputs, two of them from x.
  for (const [op, dtype] of [
    ['Sum', f64],
    ['Mean', f32], // no double Mean kernel
  ] as const) {
    gradTest(`${op}: x, a constant [4] and ReduceMean(x) [2,1,4]`, (r) => ({
      model: variadicModel(op, dtype, r.init('c', dtype, [4])),
      x: [2, 3, 4],
      dtype,
    }));
  }

  for (const op of ['Neg', 'Identity']) {
    gradTest(op, () => ({ model: op1(op, { dtype: f64, x: [2, 3, 4] }), x: [2, 3, 4], dtype: f64 }));
  }

  gradTest('Dropout (inference, with its mask output)', (r) => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [2, 3, 4], dtype: f64 }],
      outputs: ['y', 'mask'],
      nodes: [
        { op: 'Dropout', inputs: ['x', 'ratio'], outputs: ['d', 'mask'] },
        { op: 'Mul', inputs: ['d', 'c'], outputs: ['y'] },
      ],
      initializers: [floatInit('ratio', f64, [], [0.5]), r.init('c', f64, [4])],
    }),
    x: [2, 3, 4],
    dtype: f64,
  }));

  gradTest('Cast: float32 input to float64', (r) => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [2, 3, 4], dtype: f32 }],
      outputs: ['y'],
      nodes: [
        { op: 'Cast', inputs: ['x'], outputs: ['x64'], attrs: { to: { i: 11 } } },
        { op: 'Mul', inputs: ['x64', 'c'], outputs: ['y'] },
      ],
      initializers: [r.init('c', f64, [4])],
    }),
    x: [2, 3, 4],
    dtype: f32,
  }));

  // The forward pass runs in float32, so float64 differences need a float32-sized step.
  gradTest('Cast: float64 input to float32', (r) => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [2, 3, 4], dtype: f64 }],
      outputs: ['y'],
      nodes: [
        { op: 'Cast', inputs: ['x'], outputs: ['x32'], attrs: { to: { i: 1 } } },
        { op: 'Mul', inputs: ['x32', 'c'], outputs: ['y'] },
      ],
      initializers: [r.init('c', f32, [4])],
    }),
    x: [2, 3, 4],
    dtype: f64,
    eps: 1e-2,
    tol: 1e-3,
  }));

  // A float32 section inside a float64 graph: the inner Cast's gradient must be float32 again.
  // (Fails while Cast's rule casts to the wrt tensor's type instead of its own input's: CastLike fixes it.)
  gradTest('Cast: float32 section inside a float64 graph', (r) => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [2, 3, 4], dtype: f64 }],
      outputs: ['y'],
      nodes: [
        { op: 'Cast', inputs: ['x'], outputs: ['x32'], attrs: { to: { i: 1 } } },
        { op: 'Mul', inputs: ['x32', 'c'], outputs: ['m'] },
        { op: 'Cast', inputs: ['m'], outputs: ['y'], attrs: { to: { i: 11 } } },
      ],
      initializers: [r.init('c', f32, [4])],
    }),
    x: [2, 3, 4],
    dtype: f64,
    eps: 1e-2,
    tol: 1e-3,
  }));
});

// ---------------------------------------------------------------------------------------------------
// Activations

describe('activation rules', () => {
  const X = [2, 3, 4];
  gradTest('Relu (standard)', () => ({
    model: op1('Relu', { dtype: f64, x: X }),
    x: X,
    dtype: f64,
    input: awayFrom([0]),
  }));
  gradTest('LeakyRelu (alpha 0.1)', () => ({
    model: op1('LeakyRelu', { dtype: f64, x: X, attrs: { alpha: { f: 0.1 } } }),
    x: X,
    dtype: f64,
    input: awayFrom([0]),
  }));
  const bounds = [floatInit('lo', f64, [], [-0.4]), floatInit('hi', f64, [], [0.5])];
  for (const [variant, inputs] of [
    ['min and max', ['x', 'lo', 'hi']],
    ['min only', ['x', 'lo']],
    ['max only', ['x', '', 'hi']],
    ['no bounds', ['x']],
  ] as const) {
    gradTest(`Clip: ${variant}`, () => ({
      model: op1('Clip', { dtype: f64, x: X, inputs: [...inputs], initializers: bounds }),
      x: X,
      dtype: f64,
      input: awayFrom([-0.4, 0.5]),
    }));
  }
  for (const op of ['Sigmoid', 'Tanh']) {
    gradTest(op, () => ({ model: op1(op, { dtype: f64, x: X }), x: X, dtype: f64, input: uniform(-3, 3) }));
  }
  // Kinks where 0.25·x + 0.4 crosses 0 and 1; no double kernel.
  gradTest('HardSigmoid (alpha 0.25, beta 0.4)', () => ({
    model: op1('HardSigmoid', { dtype: f32, x: X, attrs: { alpha: { f: 0.25 }, beta: { f: 0.4 } } }),
    x: X,
    dtype: f32,
    input: awayFrom([-1.6, 2.4], -4, 4),
  }));
  gradTest('HardSwish', () => ({
    model: op1('HardSwish', { dtype: f32, x: X }),
    x: X,
    dtype: f32,
    input: awayFrom([-3, 3], -4.5, 4.5),
  }));
  for (const axis of [-1, 1]) {
    gradTest(`Softmax (axis ${axis})`, () => ({
      model: op1('Softmax', { dtype: f64, x: X, attrs: { axis: { i: axis } } }),
      x: X,
      dtype: f64,
      input: uniform(-2, 2),
    }));
  }
});

// ---------------------------------------------------------------------------------------------------
// Convolution (no double Conv kernel: float32)

describe('Conv rule', () => {
  const cases: { name: string; x: number[]; w: number[]; attrs?: OneOp['attrs']; bias?: boolean }[] = [
    { name: 'plain, with bias', x: [2, 3, 5, 5], w: [4, 3, 3, 3], bias: true },
    {
      name: 'strided (6×6, stride 2: remainder)',
      x: [1, 2, 6, 6],
      w: [3, 2, 3, 3],
      attrs: { strides: { ints: [2, 2] } },
    },
    {
      name: 'strided (5×5, stride 2)',
      x: [1, 2, 5, 5],
      w: [3, 2, 3, 3],
      attrs: { strides: { ints: [2, 2] } },
    },
    { name: 'padded', x: [1, 2, 5, 5], w: [3, 2, 3, 3], attrs: { pads: { ints: [1, 1, 1, 1] } } },
    { name: 'asymmetric pads', x: [1, 2, 5, 5], w: [3, 2, 3, 3], attrs: { pads: { ints: [0, 1, 2, 1] } } },
    { name: 'grouped (2 groups)', x: [1, 4, 5, 5], w: [6, 2, 3, 3], attrs: { group: { i: 2 } } },
    {
      name: 'depthwise',
      x: [1, 3, 5, 5],
      w: [3, 1, 3, 3],
      attrs: { group: { i: 3 }, pads: { ints: [1, 1, 1, 1] } },
    },
    { name: 'depthwise, multiplier 2', x: [1, 3, 5, 5], w: [6, 1, 3, 3], attrs: { group: { i: 3 } } },
    { name: 'dilated', x: [1, 2, 7, 7], w: [2, 2, 3, 3], attrs: { dilations: { ints: [2, 2] } } },
    {
      name: 'auto_pad SAME_UPPER, stride 2, odd total pad',
      x: [1, 2, 5, 5],
      w: [3, 2, 4, 4],
      attrs: { auto_pad: { s: 'SAME_UPPER' }, strides: { ints: [2, 2] } },
    },
    {
      name: 'auto_pad SAME_LOWER, stride 2, odd total pad',
      x: [1, 2, 5, 5],
      w: [3, 2, 4, 4],
      attrs: { auto_pad: { s: 'SAME_LOWER' }, strides: { ints: [2, 2] } },
    },
    { name: 'auto_pad VALID', x: [1, 2, 5, 5], w: [3, 2, 3, 3], attrs: { auto_pad: { s: 'VALID' } } },
    {
      name: 'mixed per-axis strides, pads and dilations',
      x: [1, 2, 8, 7],
      w: [2, 2, 3, 2],
      attrs: { strides: { ints: [2, 3] }, pads: { ints: [1, 0, 0, 1] }, dilations: { ints: [1, 2] } },
    },
    {
      name: '1-D, strided and padded',
      x: [2, 2, 9],
      w: [3, 2, 3],
      attrs: { strides: { ints: [2] }, pads: { ints: [1, 0] } },
    },
  ];
  for (const c of cases) {
    gradTest(`Conv: ${c.name}`, (r) => ({
      model: op1('Conv', {
        dtype: f32,
        x: c.x,
        attrs: c.attrs,
        initializers: [r.init('w', f32, c.w), ...(c.bias ? [r.init('b', f32, [c.w[0]])] : [])],
      }),
      x: c.x,
      dtype: f32,
    }));
  }
});

// ---------------------------------------------------------------------------------------------------
// Pooling

describe('pooling rules', () => {
  const maxPool: { name: string; x: number[]; attrs: OneOp['attrs'] }[] = [
    {
      name: 'overlapping windows (3×3, stride 1)',
      x: [2, 3, 5, 5],
      attrs: { kernel_shape: { ints: [3, 3] } },
    },
    {
      name: 'overlapping windows (3×3, stride 2)',
      x: [2, 3, 5, 5],
      attrs: { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] } },
    },
    {
      name: 'ceil_mode',
      x: [2, 2, 5, 5],
      attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] }, ceil_mode: { i: 1 } },
    },
    {
      name: 'pads',
      x: [2, 2, 5, 5],
      attrs: { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } },
    },
    {
      name: 'asymmetric pads and ceil_mode',
      x: [1, 2, 6, 6],
      attrs: {
        kernel_shape: { ints: [3, 2] },
        strides: { ints: [2, 2] },
        pads: { ints: [1, 0, 0, 1] },
        ceil_mode: { i: 1 },
      },
    },
    {
      name: 'dilations',
      x: [1, 2, 5, 5],
      attrs: { kernel_shape: { ints: [2, 2] }, dilations: { ints: [2, 2] } },
    },
  ];
  for (const c of maxPool) {
    gradTest(`MaxPool: ${c.name}`, () => ({
      model: op1('MaxPool', { dtype: f64, x: c.x, attrs: c.attrs }),
      x: c.x,
      dtype: f64,
      input: distinct(),
    }));
  }

  // No double AveragePool kernel: float32.
  const k3s2 = { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] } };
  const averagePool: { name: string; x: number[]; attrs: OneOp['attrs'] }[] = [
    {
      name: 'overlapping windows (3×3, stride 1)',
      x: [2, 3, 5, 5],
      attrs: { kernel_shape: { ints: [3, 3] } },
    },
    { name: 'pads, count_include_pad 0', x: [2, 2, 5, 5], attrs: { ...k3s2, pads: { ints: [1, 1, 1, 1] } } },
    {
      name: 'pads, count_include_pad 1',
      x: [2, 2, 5, 5],
      attrs: { ...k3s2, pads: { ints: [1, 1, 1, 1] }, count_include_pad: { i: 1 } },
    },
    {
      name: 'asymmetric pads, count_include_pad 1',
      x: [1, 2, 5, 5],
      attrs: { ...k3s2, pads: { ints: [0, 1, 2, 0] }, count_include_pad: { i: 1 } },
    },
    {
      name: 'ceil_mode',
      x: [2, 2, 5, 5],
      attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] }, ceil_mode: { i: 1 } },
    },
    {
      name: 'ceil_mode, pads, count_include_pad 0',
      x: [1, 2, 6, 6],
      attrs: { ...k3s2, pads: { ints: [1, 1, 1, 1] }, ceil_mode: { i: 1 } },
    },
    {
      name: 'ceil_mode, pads, count_include_pad 1 (last window overruns the pad)',
      x: [1, 2, 6, 6],
      attrs: { ...k3s2, pads: { ints: [1, 1, 1, 1] }, ceil_mode: { i: 1 }, count_include_pad: { i: 1 } },
    },
  ];
  for (const c of averagePool) {
    gradTest(`AveragePool: ${c.name}`, () => ({
      model: op1('AveragePool', { dtype: f32, x: c.x, attrs: c.attrs }),
      x: c.x,
      dtype: f32,
    }));
  }

  gradTest('GlobalAveragePool', () => ({
    model: op1('GlobalAveragePool', { dtype: f32, x: [2, 3, 4, 5] }),
    x: [2, 3, 4, 5],
    dtype: f32,
  }));
});

// ---------------------------------------------------------------------------------------------------
// Matrix products

describe('linear rules', () => {
  const [M, K, N] = [3, 4, 5];
  const gemmAttrs = (tA: number, tB: number) => ({
    transA: { i: tA },
    transB: { i: tB },
    alpha: { f: 0.7 },
    beta: { f: 1.3 },
  });
  for (const tA of [0, 1]) {
    for (const tB of [0, 1]) {
      const aDims = tA ? [K, M] : [M, K];
      const bDims = tB ? [N, K] : [K, N];
      gradTest(`Gemm: x as A, transA ${tA}, transB ${tB}, alpha/beta`, (r) => ({
        model: op1('Gemm', {
          dtype: f64,
          x: aDims,
          attrs: gemmAttrs(tA, tB),
          initializers: [r.init('b', f64, bDims), r.init('c', f64, [N])],
        }),
        x: aDims,
        dtype: f64,
      }));
      gradTest(`Gemm: x as B, transA ${tA}, transB ${tB}, alpha/beta`, (r) => ({
        model: op1('Gemm', {
          dtype: f64,
          x: bDims,
          inputs: ['a', 'x', 'c'],
          attrs: gemmAttrs(tA, tB),
          initializers: [r.init('a', f64, aDims), r.init('c', f64, [M, 1])],
        }),
        x: bDims,
        dtype: f64,
      }));
    }
  }
  gradTest('Gemm: no C', (r) => ({
    model: op1('Gemm', {
      dtype: f64,
      x: [M, K],
      attrs: { alpha: { f: -1.5 } },
      initializers: [r.init('b', f64, [K, N])],
    }),
    x: [M, K],
    dtype: f64,
  }));
  gradTest('Gemm: C from x (ReduceSum(x) [M,1], beta 1.3)', (r) => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [M, K], dtype: f64 }],
      outputs: ['y'],
      nodes: [
        { op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['s'], attrs: { keepdims: { i: 1 } } },
        { op: 'Gemm', inputs: ['x', 'b', 's'], outputs: ['y'], attrs: gemmAttrs(0, 1) },
      ],
      initializers: [int64Init('axes', [1]), r.init('b', f64, [N, K])],
    }),
    x: [M, K],
    dtype: f64,
  }));
  gradTest('Gemm: x as both A and B (x·xᵀ)', () => ({
    model: op1('Gemm', {
      dtype: f64,
      x: [M, K],
      inputs: ['x', 'x'],
      attrs: { transB: { i: 1 }, alpha: { f: 0.5 } },
    }),
    x: [M, K],
    dtype: f64,
  }));

  const matMul: { name: string; x: number[]; w: number[]; xRight?: boolean }[] = [
    { name: '2-D, x on the left', x: [3, 4], w: [4, 5] },
    { name: '2-D, x on the right', x: [4, 5], w: [3, 4], xRight: true },
    { name: 'batched x [2,3,4] · W [4,5]', x: [2, 3, 4], w: [4, 5] },
    { name: 'W [2,3,4] · x [4,5] (x broadcast over the batch)', x: [4, 5], w: [2, 3, 4], xRight: true },
    { name: 'x [3,1,4,5] · W [2,5,6] (both broadcast)', x: [3, 1, 4, 5], w: [2, 5, 6] },
    { name: 'W [3,1,4,5] · x [2,5,6] (both broadcast)', x: [2, 5, 6], w: [3, 1, 4, 5], xRight: true },
  ];
  for (const c of matMul) {
    gradTest(`MatMul: ${c.name}`, (r) => ({
      model: op1('MatMul', {
        dtype: f64,
        x: c.x,
        inputs: c.xRight ? ['w', 'x'] : ['x', 'w'],
        initializers: [r.init('w', f64, c.w)],
      }),
      x: c.x,
      dtype: f64,
    }));
  }
  gradTest('MatMul: x on both sides (x · xᵀ, batched)', () => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [2, 3, 4], dtype: f64 }],
      outputs: ['y'],
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['xt'], attrs: { perm: { ints: [0, 2, 1] } } },
        { op: 'MatMul', inputs: ['x', 'xt'], outputs: ['y'] },
      ],
    }),
    x: [2, 3, 4],
    dtype: f64,
  }));
});

// ---------------------------------------------------------------------------------------------------
// Reductions and normalisation

describe('reduction and normalisation rules', () => {
  const X = [2, 3, 4];
  const reduceMean: { name: string; attrs: OneOp['attrs'] }[] = [
    { name: 'axes [1], keepdims 1', attrs: { axes: { ints: [1] }, keepdims: { i: 1 } } },
    { name: 'axes [0, -1], keepdims 0', attrs: { axes: { ints: [0, -1] }, keepdims: { i: 0 } } },
    { name: 'all axes, keepdims 0', attrs: { keepdims: { i: 0 } } },
  ];
  for (const c of reduceMean) {
    gradTest(`ReduceMean (axes attribute): ${c.name}`, () => ({
      model: op1('ReduceMean', { dtype: f64, x: X, attrs: c.attrs }),
      x: X,
      dtype: f64,
    }));
  }
  gradTest('ReduceMean (opset 18, axes input): axes [2], keepdims 0', () => ({
    model: op1('ReduceMean', {
      dtype: f64,
      x: X,
      opset: 18,
      attrs: { keepdims: { i: 0 } },
      initializers: [int64Init('axes', [2])],
    }),
    x: X,
    dtype: f64,
  }));
  const reduceSum: { name: string; axes?: number[]; attrs: OneOp['attrs'] }[] = [
    { name: 'axes [1], keepdims 1', axes: [1], attrs: { keepdims: { i: 1 } } },
    { name: 'axes [-1, 0], keepdims 0', axes: [-1, 0], attrs: { keepdims: { i: 0 } } },
    { name: 'no axes (all), keepdims 1', attrs: { keepdims: { i: 1 } } },
    { name: 'no axes, noop_with_empty_axes 1', attrs: { noop_with_empty_axes: { i: 1 } } },
  ];
  for (const c of reduceSum) {
    gradTest(`ReduceSum (axes input): ${c.name}`, () => ({
      model: op1('ReduceSum', {
        dtype: f64,
        x: X,
        attrs: c.attrs,
        initializers: c.axes ? [int64Init('axes', c.axes)] : [],
      }),
      x: X,
      dtype: f64,
    }));
  }

  for (const dims of [
    [2, 3, 4, 4],
    [4, 3],
  ]) {
    gradTest(`BatchNormalization: input [${dims}]`, (r) => ({
      model: op1('BatchNormalization', {
        dtype: f64,
        x: dims,
        attrs: { epsilon: { f: 1e-3 } },
        initializers: [
          r.init('scale', f64, [3]),
          r.init('bias', f64, [3]),
          r.init('mean', f64, [3]),
          r.init('var', f64, [3], 0.2, 2),
        ],
      }),
      x: dims,
      dtype: f64,
    }));
  }
});

// ---------------------------------------------------------------------------------------------------
// Shape and data movement

describe('shape rules', () => {
  const X = [2, 3, 4];
  gradTest('Reshape (shape [0, -1])', () => ({
    model: op1('Reshape', { dtype: f64, x: X, initializers: [int64Init('shape', [0, -1])] }),
    x: X,
    dtype: f64,
  }));
  gradTest('Flatten (axis 2)', () => ({
    model: op1('Flatten', { dtype: f64, x: [2, 3, 2, 2], attrs: { axis: { i: 2 } } }),
    x: [2, 3, 2, 2],
    dtype: f64,
  }));
  gradTest('Squeeze (axes [1])', () => ({
    model: op1('Squeeze', { dtype: f64, x: [2, 1, 4], initializers: [int64Init('axes', [1])] }),
    x: [2, 1, 4],
    dtype: f64,
  }));
  gradTest('Unsqueeze (axes [0, 3])', () => ({
    model: op1('Unsqueeze', { dtype: f64, x: X, initializers: [int64Init('axes', [0, 3])] }),
    x: X,
    dtype: f64,
  }));
  gradTest('Transpose (perm [2, 0, 1])', () => ({
    model: op1('Transpose', { dtype: f64, x: X, attrs: { perm: { ints: [2, 0, 1] } } }),
    x: X,
    dtype: f64,
  }));
  gradTest('Transpose (default perm: reversed)', () => ({
    model: op1('Transpose', { dtype: f64, x: X }),
    x: X,
    dtype: f64,
  }));
  gradTest('Concat: x with a constant (axis 1)', (r) => ({
    model: op1('Concat', {
      dtype: f64,
      x: X,
      attrs: { axis: { i: 1 } },
      initializers: [r.init('c', f64, [2, 2, 4])],
    }),
    x: X,
    dtype: f64,
  }));
  gradTest('Concat: x, a constant, x again (axis -1)', (r) => ({
    model: op1('Concat', {
      dtype: f64,
      x: X,
      inputs: ['x', 'c', 'x'],
      attrs: { axis: { i: -1 } },
      initializers: [r.init('c', f64, [2, 3, 1])],
    }),
    x: X,
    dtype: f64,
  }));
  gradTest('Split: sizes [1, 2, 3] on axis 2, all outputs seeded', () => ({
    model: op1('Split', {
      dtype: f64,
      x: [2, 3, 6],
      outputs: ['a', 'b', 'c'],
      attrs: { axis: { i: 2 } },
      initializers: [int64Init('split', [1, 2, 3])],
    }),
    x: [2, 3, 6],
    dtype: f64,
  }));
  gradTest('Split: middle output unused (its gradient is zero)', () => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [2, 3, 6], dtype: f64 }],
      outputs: ['a', 'c'],
      nodes: [{ op: 'Split', inputs: ['x', 'split'], outputs: ['a', 'b', 'c'], attrs: { axis: { i: -1 } } }],
      initializers: [int64Init('split', [1, 2, 3])],
    }),
    x: [2, 3, 6],
    dtype: f64,
  }));
  gradTest('Split: equal parts, no split input (axis 1)', () => ({
    model: op1('Split', { dtype: f64, x: [2, 4, 3], outputs: ['a', 'b'], attrs: { axis: { i: 1 } } }),
    x: [2, 4, 3],
    dtype: f64,
  }));

  const slices: {
    name: string;
    x: number[];
    starts: number[];
    ends: number[];
    axes?: number[];
    steps?: number[];
  }[] = [
    {
      name: 'step 1, axes [2, 1], end past the dim',
      x: [2, 3, 5],
      starts: [1, 1],
      ends: [4, 100],
      axes: [2, 1],
    },
    { name: 'step 1, no axes input', x: [3, 4, 2], starts: [1, 0], ends: [3, 3] },
    { name: 'step 2', x: [2, 3, 5], starts: [0], ends: [5], axes: [2], steps: [2] },
    {
      name: 'steps 2 and 3 on two axes',
      x: [2, 5, 7],
      starts: [1, 0],
      ends: [5, 7],
      axes: [1, 2],
      steps: [2, 3],
    },
    { name: 'negative step (reverse)', x: [2, 3, 5], starts: [-1], ends: [-100], axes: [2], steps: [-1] },
    {
      name: 'negative step -2 from past the end',
      x: [2, 3, 5],
      starts: [10],
      ends: [0],
      axes: [-1],
      steps: [-2],
    },
    { name: 'negative starts and ends', x: [2, 4, 5], starts: [-3, -4], ends: [-1, 100], axes: [1, 2] },
  ];
  for (const c of slices) {
    const inits = [int64Init('starts', c.starts), int64Init('ends', c.ends)];
    if (c.axes || c.steps) inits.push(int64Init('axes', c.axes ?? c.starts.map((_, i) => i)));
    if (c.steps) inits.push(int64Init('steps', c.steps));
    gradTest(`Slice: ${c.name}`, () => ({
      model: op1('Slice', { dtype: f64, x: c.x, initializers: inits }),
      x: c.x,
      dtype: f64,
    }));
  }

  const pads: {
    name: string;
    pads: number[];
    mode?: string;
    value?: boolean;
    opset?: number;
    axes?: number[];
  }[] = [
    { name: 'constant 0', pads: [0, 1, 1, 0, 2, 0] },
    { name: 'constant with a value', pads: [1, 0, 2, 0, 1, 1], value: true },
    { name: 'reflect', pads: [0, 2, 2, 0, 1, 3], mode: 'reflect' },
    { name: 'edge', pads: [1, 2, 1, 0, 0, 3], mode: 'edge' },
    { name: 'constant, negative pads (cropping)', pads: [0, -1, 1, 0, 1, -2] },
    { name: 'reflect, negative pads', pads: [0, 1, -1, 0, -1, 2], mode: 'reflect' },
    { name: 'edge, negative pads', pads: [-1, 1, 0, 0, 0, -3], mode: 'edge' },
    { name: 'opset 18 with axes [-1, 1]', pads: [2, 1, 1, 0], mode: 'reflect', opset: 18, axes: [-1, 1] },
  ];
  for (const c of pads) {
    gradTest(`Pad: ${c.name}`, () => {
      const inits = [int64Init('pads', c.pads)];
      const inputs = ['x', 'pads'];
      if (c.value || c.axes) {
        inputs.push(c.value ? 'value' : '');
        if (c.value) inits.push(floatInit('value', f64, [], [0.7]));
      }
      if (c.axes) {
        inputs.push('axes');
        inits.push(int64Init('axes', c.axes));
      }
      return {
        model: op1('Pad', {
          dtype: f64,
          x: [2, 3, 4],
          inputs,
          opset: c.opset,
          attrs: c.mode ? { mode: { s: c.mode } } : {},
          initializers: inits,
        }),
        x: [2, 3, 4],
        dtype: f64,
      };
    });
  }

  const gathers: { name: string; x: number[]; indices: number[]; dims: number[]; axis: number }[] = [
    { name: 'constant indices, axis 1', x: [2, 3, 4], indices: [2, 0], dims: [2], axis: 1 },
    {
      name: 'repeated and negative indices, axis 2',
      x: [2, 3, 4],
      indices: [1, 1, 3, -1, 1],
      dims: [5],
      axis: 2,
    },
    {
      name: '2-D indices with repeats, axis 0',
      x: [3, 4],
      indices: [1, 0, 1, 1, 2, 1],
      dims: [3, 2],
      axis: 0,
    },
    { name: 'scalar index, axis -1', x: [2, 3, 4], indices: [2], dims: [], axis: -1 },
  ];
  for (const c of gathers) {
    gradTest(`Gather: ${c.name}`, () => ({
      model: op1('Gather', {
        dtype: f64,
        x: c.x,
        attrs: { axis: { i: c.axis } },
        initializers: [int64Init('indices', c.indices, c.dims)],
      }),
      x: c.x,
      dtype: f64,
    }));
  }

  for (const [from, to] of [
    [
      [3, 1],
      [2, 3, 4],
    ],
    [[4], [2, 3, 4]],
    [
      [2, 1, 4],
      [2, 3, 1],
    ],
  ]) {
    gradTest(`Expand: [${from}] to [${to}]`, () => ({
      model: op1('Expand', { dtype: f64, x: from, initializers: [int64Init('shape', to)] }),
      x: from,
      dtype: f64,
    }));
  }
});

// ---------------------------------------------------------------------------------------------------
// How the compiler combines rules

describe('gradient compiler', () => {
  test('fan-out: a tensor used twice sums its gradients (Mul(x, x) = 2·x·seed)', async (t) => {
    const model = op1('Mul', { dtype: f64, x: [2, 3], inputs: ['x', 'x'] });
    const { err, grad, compiled } = await checkGradient(model, [2, 3], { dtype: f64 });
    t.diagnostic(`float64 relErr=${err.toExponential(2)}`);
    assert.ok(backwardNodes(model, compiled).some((n) => n.opType === 'Sum'));
    // Exact check against the hand-written gradient.
    const x = [1, -2, 0.5, 3, -1, 2];
    const seed = [1, 2, -1, 0.5, 3, -2];
    const { out } = await runGradient(model, { x: tensor(f64, [2, 3], x) }, { y: seed });
    assert.deepEqual(
      asNumbers(out.dx),
      x.map((v, i) => 2 * v * seed[i]),
    );
    assert.ok(grad.some((v) => v !== 0));
  });

  gradTest('fan-out through two branches: Sigmoid(x) + Tanh(x)', () => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [2, 3, 4], dtype: f64 }],
      outputs: ['y'],
      nodes: [
        { op: 'Sigmoid', inputs: ['x'], outputs: ['s'] },
        { op: 'Tanh', inputs: ['x'], outputs: ['t'] },
        { op: 'Add', inputs: ['s', 't'], outputs: ['y'] },
      ],
    }),
    x: [2, 3, 4],
    dtype: f64,
  }));

  gradTest('fan-out: several seeded outputs add up (y = Relu(x), z = Softmax(y))', () => ({
    model: buildModel({
      inputs: [{ name: 'x', dims: [2, 5], dtype: f64 }],
      outputs: ['y', 'z'],
      nodes: [
        { op: 'Relu', inputs: ['x'], outputs: ['y'] },
        { op: 'Softmax', inputs: ['y'], outputs: ['z'] },
      ],
    }),
    x: [2, 5],
    dtype: f64,
    input: awayFrom([0]),
  }));

  test('a branch that does not lead to the seed gets no backward nodes', async (t) => {
    const nodes = [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Mul', inputs: ['r', 'c'], outputs: ['y'] },
    ];
    const c = floatInit('c', f64, [4], [0.5, -1, 2, 0.25]);
    const live = buildModel({
      inputs: [{ name: 'x', dims: [3, 4], dtype: f64 }],
      outputs: ['y'],
      nodes,
      initializers: [c],
    });
    const withDead = buildModel({
      inputs: [{ name: 'x', dims: [3, 4], dtype: f64 }],
      outputs: ['y', 'z'],
      nodes: [
        ...nodes,
        { op: 'Tanh', inputs: ['x'], outputs: ['t'] },
        { op: 'Mul', inputs: ['t', 'c'], outputs: ['z'] },
        { op: 'Sigmoid', inputs: ['r'], outputs: ['unused'] },
      ],
      initializers: [c],
    });
    const a = await checkGradient(live, [3, 4], { dtype: f64, input: awayFrom([0]) });
    const b = await checkGradient(withDead, [3, 4], { dtype: f64, input: awayFrom([0]), seeds: ['y'] });
    t.diagnostic(`float64 relErr=${Math.max(a.err, b.err).toExponential(2)}`);
    const deadBackward = backwardNodes(withDead, b.compiled);
    assert.equal(deadBackward.length, backwardNodes(live, a.compiled).length);
    for (const n of deadBackward) {
      for (const name of ['t', 'z', 'unused', 'dz'])
        assert.ok(!n.input.includes(name), `${n.opType} reads ${name}`);
    }
    assert.deepEqual(
      deadBackward.map((n) => n.opType),
      backwardNodes(live, a.compiled).map((n) => n.opType),
    );
  });

  test('an integer shape subgraph (Shape→Gather→Unsqueeze→Concat→Reshape) carries no gradient', async (t) => {
    const model = buildModel({
      inputs: [{ name: 'x', dims: [2, 3, 4], dtype: f64 }],
      outputs: ['y'],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
        { op: 'Gather', inputs: ['shape', 'zero'], outputs: ['n'], attrs: { axis: { i: 0 } } },
        { op: 'Unsqueeze', inputs: ['n', 'axis0'], outputs: ['n1'] },
        { op: 'Concat', inputs: ['n1', 'minus1'], outputs: ['target'], attrs: { axis: { i: 0 } } },
        { op: 'Tanh', inputs: ['x'], outputs: ['t'] },
        { op: 'Reshape', inputs: ['t', 'target'], outputs: ['y'] },
      ],
      initializers: [int64Init('zero', [0], []), int64Init('axis0', [0]), int64Init('minus1', [-1])],
    });
    const { err, compiled } = await checkGradient(model, [2, 3, 4], { dtype: f64 });
    t.diagnostic(`float64 relErr=${err.toExponential(2)}`);
    const ops = backwardNodes(model, compiled).map((n) => n.opType);
    // Gather's rule scatters, Concat's splits, Unsqueeze's and Reshape's reshape: only Reshape's may appear.
    assert.ok(!ops.includes('ScatterElements') && !ops.includes('Split'), ops.join(' '));
    assert.equal(ops.filter((o) => o === 'Reshape').length, 1, ops.join(' '));
  });

  describe('ReLU rules', () => {
    const one = op1('Relu', { dtype: f64, x: [6] });
    const x = [-1.5, -0.5, 0.5, 1.5, 2, -2];
    const seed = [1, 1, -1, -1, 2, -3];
    // Two layers: y = Relu(Relu(x) ⊙ c); hand-computed below.
    const two = buildModel({
      inputs: [{ name: 'x', dims: [4], dtype: f64 }],
      outputs: ['y'],
      nodes: [
        { op: 'Relu', inputs: ['x'], outputs: ['r'] },
        { op: 'Mul', inputs: ['r', 'c'], outputs: ['m'] },
        { op: 'Relu', inputs: ['m'], outputs: ['y'] },
      ],
      initializers: [floatInit('c', f64, [4], [-1, 2, 3, 1])],
    });
    const x2 = [1, 2, -1, 0.5]; // r = [1, 2, 0, 0.5], m = [-1, 4, 0, 0.5]
    const seed2 = [1, -1, 1, 1];
    const composites = { standard: undefined, guided: GUIDED_BACKPROP, deconvnet: DECONVNET };
    const expected: Record<keyof typeof composites, [number[], number[]]> = {
      // g·[x > 0]; dm = [0, -1, 0, 1], dr = dm ⊙ c = [0, -2, 0, 1]
      standard: [
        [0, 0, -1, -1, 2, 0],
        [0, -2, 0, 1],
      ],
      // g·[x > 0]·[g > 0]; dm = [0, 0, 0, 1], dr = [0, 0, 0, 1]
      guided: [
        [0, 0, 0, 0, 2, 0],
        [0, 0, 0, 1],
      ],
      // g·[g > 0]; dm = [1, 0, 1, 1], dr = [-1, 0, 3, 1]
      deconvnet: [
        [1, 1, 0, 0, 2, 0],
        [0, 0, 3, 1],
      ],
    };
    // The standard rule multiplies by a 0/1 mask, so a negative g meets 0 as −0: the same gradient, compared as numbers.
    const values = (t: Parameters<typeof asNumbers>[0]) => asNumbers(t).map((v) => v + 0);
    for (const rule of ['standard', 'guided', 'deconvnet'] as const) {
      test(`relu '${rule}'`, async () => {
        const a = await runGradient(one, { x: tensor(f64, [6], x) }, { y: seed }, composites[rule]);
        assert.deepEqual(values(a.out.dx), expected[rule][0]);
        const b = await runGradient(two, { x: tensor(f64, [4], x2) }, { y: seed2 }, composites[rule]);
        assert.deepEqual(values(b.out.dx), expected[rule][1]);
      });
    }
  });

  describe('unsupported operators', () => {
    const compileOf = async (model: onnx.ModelProto, dims: number[], spec = {}) => {
      const feeds = { x: tensor(f32, dims, new Array<number>(size(dims)).fill(0.5)) };
      return compileGradient(model, spec, await probeTensorInfo(nodeBackend, model, feeds));
    };

    test('Sin on the gradient path fails, naming the operator and the node', async () => {
      const model = buildModel({
        inputs: [{ name: 'x', dims: [2, 3], dtype: f32 }],
        outputs: ['y'],
        nodes: [
          { op: 'Sin', inputs: ['x'], outputs: ['e'], name: 'my_sin' },
          { op: 'Relu', inputs: ['e'], outputs: ['y'] },
        ],
      });
      await assert.rejects(compileOf(model, [2, 3]), /Sin node 'my_sin'.*no gradient rule/);
    });

    test('DepthToSpace on the gradient path fails, naming the operator and the node', async () => {
      const model = buildModel({
        inputs: [{ name: 'x', dims: [1, 4, 2, 2], dtype: f32 }],
        outputs: ['y'],
        nodes: [
          {
            op: 'DepthToSpace',
            inputs: ['x'],
            outputs: ['y'],
            name: 'shuffle',
            attrs: { blocksize: { i: 2 } },
          },
        ],
      });
      await assert.rejects(compileOf(model, [1, 4, 2, 2]), /DepthToSpace node 'shuffle'.*no gradient rule/);
    });

    gradTest('an ArgMax branch that the seed does not need is fine', () => ({
      model: buildModel({
        inputs: [{ name: 'x', dims: [2, 5], dtype: f64 }],
        outputs: ['y', 'best'],
        nodes: [
          { op: 'Relu', inputs: ['x'], outputs: ['y'] },
          { op: 'ArgMax', inputs: ['x'], outputs: ['best'], attrs: { axis: { i: 1 } } },
        ],
      }),
      x: [2, 5],
      dtype: f64,
      input: awayFrom([0]),
    }));

    gradTest('a Sin branch to an output that is not seeded is fine', () => ({
      model: buildModel({
        inputs: [{ name: 'x', dims: [2, 5], dtype: f32 }],
        outputs: ['y', 'z'],
        nodes: [
          { op: 'Tanh', inputs: ['x'], outputs: ['y'] },
          { op: 'Sin', inputs: ['x'], outputs: ['z'] },
        ],
      }),
      x: [2, 5],
      dtype: f32,
      seeds: ['y'],
    }));

    gradTest('Sin of a constant feeding the path is fine', (r) => ({
      model: buildModel({
        inputs: [{ name: 'x', dims: [2, 5], dtype: f32 }],
        outputs: ['y'],
        nodes: [
          { op: 'Sin', inputs: ['c0'], outputs: ['c'] },
          { op: 'Mul', inputs: ['x', 'c'], outputs: ['y'] },
        ],
        initializers: [r.init('c0', f32, [5])],
      }),
      x: [2, 5],
      dtype: f32,
    }));
  });

  describe('opsets', () => {
    test('an opset-11 model with only Relu and Conv, converted to opset 16, works', async (t) => {
      const r = new Random(11);
      const model = buildModel({
        inputs: [{ name: 'x', dims: [1, 2, 5, 5], dtype: f32 }],
        outputs: ['y'],
        nodes: [
          { op: 'Relu', inputs: ['x'], outputs: ['r'] },
          { op: 'Conv', inputs: ['r', 'w'], outputs: ['y'], attrs: { pads: { ints: [1, 1, 1, 1] } } },
        ],
        initializers: [r.init('w', f32, [3, 2, 3, 3])],
        opset: 11,
      });
      const converted = cloneModel(model);
      assert.deepEqual(convertOpset(converted, GRADIENT_OPSET), { from: 11, to: 16, rewritten: {} });
      const { err, compiled } = await checkGradient(converted, [1, 2, 5, 5], {
        dtype: f32,
        input: awayFrom([0]),
        random: r,
      });
      t.diagnostic(`float32 relErr=${err.toExponential(2)}`);
      assert.equal(defaultOpset(compiled.model), 16);
      assert.equal(defaultOpset(model), 11, 'the source model is left alone');
    });

    test('the compiler refuses a model below its opset, naming the opset, not a node it emits', async () => {
      const model = op1('Concat', { dtype: f32, x: [2, 5], opset: 11, attrs: { axis: { i: 1 } } });
      const feeds = { x: tensor(f32, [2, 5], new Array<number>(10).fill(0.5)) };
      const info = await probeTensorInfo(nodeBackend, model, feeds);
      assert.throws(
        () => compileGradient(model, {}, info),
        /the model is at opset 11; the backward graph is written for opsets 16 to 21 \(convert older models with convertOpset/,
      );
    });
  });

  // PyTorch and other exporters store int64 constants (Slice starts, Pad pads, Gather indices, axes) in
  // raw_data; the compiler must read their values right (tiny-graph's int64Init uses int64_data).
  // (Fails while decodeTensor reads a decoded Buffer's raw_data from offset 0 of its whole backing store.)
  gradTest('int64 constants stored as raw_data (Slice starts/ends/axes/steps)', () => ({
    model: op1('Slice', {
      dtype: f64,
      x: [2, 3, 6],
      initializers: [
        int64Init('starts', [1, 5], [2], true),
        int64Init('ends', [3, 0], [2], true),
        int64Init('axes', [1, 2], [2], true),
        int64Init('steps', [1, -2], [2], true),
      ],
    }),
    x: [2, 3, 6],
    dtype: f64,
  }));
});
