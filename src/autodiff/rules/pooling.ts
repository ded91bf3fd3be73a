import type { GradientRule } from '../types.js';
import { unsupported } from './common.js';
import { convTransposeTo, windowGeometry } from './conv.js';

// MaxPool's gradient goes to each window's argmax: the node also outputs its (flat, whole-tensor)
// indices and the gradient is scattered onto them, adding where windows overlap on one maximum.
const maxPool: GradientRule = (ctx) => {
  const { b } = ctx;
  if (ctx.attrs.int('storage_order', 0) !== 0) unsupported(ctx, 'storage_order=1 is not supported');
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
