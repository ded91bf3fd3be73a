import type { GradientRule, RuleContext } from '../types.js';
import { unsupported } from './common.js';
import { convTransposeTo, windowGeometry, type WindowGeometry } from './conv.js';

// MaxPool's gradient goes to the first maximum of each window (row-major within the window, as PyTorch and the
// Indices output choose) and adds up where windows overlap. Without dilations it is built from strided slices
// (maxPoolBySlices); with them, the node's Indices output gives the positions and the gradient is scattered onto them.
const maxPool: GradientRule = (ctx) => {
  if (ctx.attrs.int('storage_order', 0) !== 0) unsupported(ctx, 'storage_order=1 is not supported');
  const xs = ctx.dims(ctx.node.input[0]).slice(2);
  const ys = ctx.dims(ctx.node.output[0]).slice(2);
  const geo = windowGeometry(ctx.attrs, ctx.attrs.ints('kernel_shape', []), xs, ys);
  if (geo.dilations.some((d) => d !== 1)) return maxPoolByIndices(ctx);
  return [maxPoolBySlices(ctx, geo)];
};

/** MaxPool's gradient scattered onto its Indices output (flat, whole-tensor), adding where windows overlap. */
export const maxPoolByIndices: GradientRule = (ctx) => {
  const { b } = ctx;
  const xDims = ctx.dims(ctx.node.input[0]);
  const indices = ctx.addOutput(1);
  const size = xDims.reduce((a, c) => a * c, 1);
  const flatIdx = b.op1('Reshape', [indices, b.constInt64([-1])]);
  const flatG = b.op1('Reshape', [ctx.grads[0]!, b.constInt64([-1])]);
  const scattered = b.op1('ScatterElements', [b.zeros([size]), flatIdx, flatG], {
    axis: { i: 0 },
    reduction: { s: 'add' },
  });
  return [b.op1('Reshape', [scattered, b.constInt64(xDims)])];
};

/**
 * The indices form's result, bit for bit, from strided slices. Window offsets k run in row-major order: offset k's
 * slice S_k of the (−∞-padded) input has the output's dims, and the gradient still unclaimed by earlier offsets
 * goes to k where S_k equals the output (so ties go to the first). Each input position then sums what its
 * windows sent it in increasing window order, the order in which the indices form's scatter adds: positions are
 * grouped by their residue modulo the stride, where offset k lands as its gradient shifted by ⌊k / stride⌋.
 */
function maxPoolBySlices(ctx: RuleContext, geo: WindowGeometry): string {
  const { b } = ctx;
  const x = ctx.node.input[0];
  const y = ctx.node.output[0];
  const xDims = ctx.dims(x);
  const yDims = ctx.dims(y);
  const xs = xDims.slice(2);
  const ys = yDims.slice(2);
  const r = xs.length;
  const { kernel, strides } = geo;
  const lead = geo.pads.slice(0, r);
  // Padded length covering every window, and the residue-class grid Q (per axis) that tiles it.
  const span = ys.map((o, i) => strides[i] * (o - 1) + kernel[i]);
  const padded = xs.map((l, i) => Math.max(span[i], lead[i] + l));
  const q = padded.map((p, i) => Math.ceil(p / strides[i]));
  const tail = padded.map((p, i) => p - lead[i] - xs[i]);
  const xp =
    lead.some((p) => p > 0) || tail.some((p) => p > 0)
      ? b.op1('Pad', [x, b.constInt64([0, 0, ...lead, 0, 0, ...tail]), b.constFloat([-Infinity], [])])
      : x;
  const axes = b.constInt64(xs.map((_, i) => i + 2));
  const steps = b.constInt64(strides);
  const offsets = rowMajor(kernel);
  const zero = b.constFloat([0], []);
  let unclaimed = ctx.grads[0]!;
  const sent = offsets.map((k, n) => {
    if (n === offsets.length - 1) return unclaimed;
    const slice = b.op1('Slice', [
      xp,
      b.constInt64(k),
      b.constInt64(k.map((v, i) => v + strides[i] * (ys[i] - 1) + 1)),
      axes,
      steps,
    ]);
    const hit = b.op1('Equal', [slice, y]);
    const g = b.op1('Where', [hit, unclaimed, zero]);
    unclaimed = b.op1('Where', [hit, zero, unclaimed]);
    return g;
  });
  // Per residue class, the shifted gradients of its offsets, added from the last offset to the first.
  const classes = rowMajor(strides).map((res) => {
    let sum: string | undefined;
    for (let n = offsets.length - 1; n >= 0; n--) {
      const k = offsets[n];
      if (k.some((v, i) => v % strides[i] !== res[i])) continue;
      const shift = k.map((v, i) => Math.floor(v / strides[i]));
      const end = shift.map((j, i) => q[i] - j - ys[i]);
      const term = b.op1('Pad', [sent[n], b.constInt64([0, 0, ...shift, 0, 0, ...end])]);
      sum = sum === undefined ? term : b.op1('Add', [sum, term]);
    }
    return sum ?? b.zeros([...xDims.slice(0, 2), ...q]);
  });
  let grid: string;
  if (classes.length === 1) grid = classes[0];
  else {
    // Interleave: classes (s_0, …, s_r−1) × (Q_0, …, Q_r−1) → (Q_0, s_0, Q_1, s_1, …) → the padded grid.
    const [n, c] = xDims;
    const flat = classes.map((t) => b.op1('Reshape', [t, b.constInt64([n, c, 1, -1])]));
    const stacked = b.op1('Reshape', [
      b.op1('Concat', flat, { axis: { i: 2 } }),
      b.constInt64([n, c, ...strides, ...q]),
    ]);
    const perm = [0, 1, ...xs.flatMap((_, i) => [2 + r + i, 2 + i])];
    grid = b.op1('Reshape', [
      b.op1('Transpose', [stacked], { perm: { ints: perm } }),
      b.constInt64([n, c, ...q.map((v, i) => v * strides[i])]),
    ]);
  }
  return b.op1('Slice', [grid, b.constInt64(lead), b.constInt64(lead.map((p, i) => p + xs[i])), axes]);
}

/** Every multi-index below `dims`, in row-major order. */
function rowMajor(dims: number[]): number[][] {
  let out: number[][] = [[]];
  for (const d of dims) out = out.flatMap((p) => Array.from({ length: d }, (_, v) => [...p, v]));
  return out;
}

// Each output spreads g/divisor over its window: scale by the per-position divisor, then a
// ConvTranspose with a kernel of ones over N·C single-channel maps.
const averagePool: GradientRule = (ctx) => {
  const { b } = ctx;
  const xDims = ctx.dims(ctx.node.input[0]);
  const yDims = ctx.dims(ctx.node.output[0]);
  const xs = xDims.slice(2);
  const ys = yDims.slice(2);
  const kernel = ctx.attrs.ints('kernel_shape', []);
  const geo = windowGeometry(ctx.attrs, kernel, xs, ys);
  if (geo.dilations.some((d) => d !== 1)) unsupported(ctx, 'dilations are not supported');
  const includePad = ctx.attrs.int('count_include_pad', 0) === 1;
  const r = xs.length;
  const outCount = ys.reduce((a, c) => a * c, 1);
  const inv = new Float64Array(outCount);
  const o = new Array<number>(r).fill(0);
  for (let j = 0; j < outCount; j++) {
    let divisor = 1;
    for (let k = 0; k < r; k++) {
      const start = o[k] * geo.strides[k] - geo.pads[k];
      // With count_include_pad the pads count, but not a ceil_mode window's overrun past them (as PyTorch).
      const end = Math.min(start + kernel[k], includePad ? xs[k] + geo.pads[k + r] : xs[k]);
      divisor *= end - (includePad ? start : Math.max(start, 0));
    }
    inv[j] = 1 / divisor;
    for (let k = r - 1; k >= 0; k--) {
      if (++o[k] < ys[k]) break;
      o[k] = 0;
    }
  }
  const channels = xDims[0] * xDims[1];
  const scaled = b.op1('Mul', [
    b.op1('Reshape', [ctx.grads[0]!, b.constInt64([channels, 1, ...ys])]),
    b.constFloat(inv, [1, 1, ...ys]),
  ]);
  const ones = b.constFloat(new Array<number>(kernel.reduce((a, c) => a * c, 1)).fill(1), [1, 1, ...kernel]);
  const dx = convTransposeTo(ctx, scaled, ones, geo, xs, ys);
  return [b.op1('Reshape', [dx, b.constInt64(xDims)])];
};

const globalAveragePool: GradientRule = (ctx) => {
  const { b } = ctx;
  const xDims = ctx.dims(ctx.node.input[0]);
  const count = xDims.slice(2).reduce((a, c) => a * c, 1);
  const scaled = b.op1('Mul', [ctx.grads[0]!, b.constFloat([1 / count], [])]);
  return [b.op1('Expand', [scaled, b.constInt64(xDims)])];
};

/** Rules for pooling. */
export const poolingRules: Record<string, GradientRule> = {
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
};
