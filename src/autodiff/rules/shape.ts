import type { GradientRule, RuleContext } from '../types.js';
import { normAxis, scatterBack, sourceMap, unbroadcast, unsupported } from './common.js';

// Reshape-like ops keep the element order: reshape the gradient back.
const reshapeBack: GradientRule = (ctx) => [
  ctx.b.op1('Reshape', [ctx.grads[0]!, ctx.b.constInt64(ctx.dims(ctx.node.input[0]))]),
];

const transpose: GradientRule = (ctx) => {
  const rank = ctx.dims(ctx.node.input[0]).length;
  const perm = ctx.attrs.ints(
    'perm',
    Array.from({ length: rank }, (_, i) => rank - 1 - i),
  );
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return [ctx.b.op1('Transpose', [ctx.grads[0]!], { perm: { ints: inverse } })];
};

const concat: GradientRule = (ctx) => {
  const { b } = ctx;
  const rank = ctx.dims(ctx.node.output[0]).length;
  const axis = normAxis(ctx.attrs.int('axis', 0), rank);
  const sizes = ctx.node.input.map((x) => ctx.dims(x)[axis]);
  const parts = b.op('Split', [ctx.grads[0]!, b.constInt64(sizes)], { axis: { i: axis } }, sizes.length);
  return parts.map((p, i) => (ctx.needs[i] ? p : undefined));
};

const split: GradientRule = (ctx) => {
  const { b } = ctx;
  const rank = ctx.dims(ctx.node.input[0]).length;
  const axis = normAxis(ctx.attrs.int('axis', 0), rank);
  const parts = ctx.node.output.map((y, i) => ctx.grads[i] ?? b.zeros(ctx.dims(y)));
  return [b.op1('Concat', parts, { axis: { i: axis } })];
};

/** Per-axis (start, step) of a Slice node, clamped as ONNX does, for every axis of the input. */
function sliceStarts(ctx: RuleContext, inDims: number[]): { start: number[]; step: number[] } {
  const [, startsName, , axesName, stepsName] = ctx.node.input;
  const starts = ctx.values(startsName);
  const axes = axesName
    ? ctx.values(axesName).map((a) => normAxis(a, inDims.length))
    : starts.map((_, i) => i);
  const steps = stepsName ? ctx.values(stepsName) : starts.map(() => 1);
  const start = inDims.map(() => 0);
  const step = inDims.map(() => 1);
  axes.forEach((axis, i) => {
    const d = inDims[axis];
    let s = starts[i] < 0 ? starts[i] + d : starts[i];
    s = steps[i] > 0 ? Math.min(Math.max(s, 0), d) : Math.min(Math.max(s, 0), d - 1);
    start[axis] = s;
    step[axis] = steps[i];
  });
  return { start, step };
}

const slice: GradientRule = (ctx) => {
  const { b } = ctx;
  const inDims = ctx.dims(ctx.node.input[0]);
  const outDims = ctx.dims(ctx.node.output[0]);
  const { start, step } = sliceStarts(ctx, inDims);
  if (step.every((s) => s === 1)) {
    const pads = [...start, ...inDims.map((d, i) => d - start[i] - outDims[i])];
    return [b.op1('Pad', [ctx.grads[0]!, b.constInt64(pads)], { mode: { s: 'constant' } })];
  }
  const map = sourceMap(outDims, inDims, (o) => o.map((v, i) => start[i] + v * step[i]));
  return [scatterBack(ctx, ctx.grads[0]!, map, inDims)];
};

/** Source index along one axis of Pad's output position `o` (pad `before`, input size `d`), or -1. */
function padSource(mode: string, o: number, before: number, d: number): number {
  const i = o - before;
  if (i >= 0 && i < d) return i;
  if (mode === 'edge') return Math.min(Math.max(i, 0), d - 1);
  if (mode === 'reflect') return i < 0 ? -i : 2 * (d - 1) - i;
  return -1;
}

const pad: GradientRule = (ctx) => {
  const { b } = ctx;
  const [, padsName, , axesName] = ctx.node.input;
  const inDims = ctx.dims(ctx.node.input[0]);
  const outDims = ctx.dims(ctx.node.output[0]);
  const mode = ctx.attrs.string('mode', 'constant');
  if (!['constant', 'reflect', 'edge'].includes(mode)) unsupported(ctx, `mode '${mode}' is not supported`);
  const r = inDims.length;
  const padList = padsName ? ctx.values(padsName) : ctx.attrs.ints('pads', []);
  const axes = axesName ? ctx.values(axesName).map((a) => normAxis(a, r)) : inDims.map((_, i) => i);
  const before = new Array<number>(r).fill(0);
  axes.forEach((axis, i) => (before[axis] = padList[i]));
  if (
    mode === 'constant' &&
    before.every((p) => p >= 0) &&
    outDims.every((d, i) => d - before[i] >= inDims[i])
  ) {
    const ends = inDims.map((d, i) => before[i] + d);
    return [b.op1('Slice', [ctx.grads[0]!, b.constInt64(before), b.constInt64(ends)])];
  }
  const map = sourceMap(outDims, inDims, (o) => {
    const src = o.map((v, k) => padSource(mode, v, before[k], inDims[k]));
    return src.some((s) => s < 0) ? null : src;
  });
  return [scatterBack(ctx, ctx.grads[0]!, map, inDims)];
};

const expand: GradientRule = (ctx) => [
  unbroadcast(ctx, ctx.grads[0]!, ctx.dims(ctx.node.output[0]), ctx.dims(ctx.node.input[0])),
];

// y repeats x r_i times along each axis: view g as [r_0, d_0, r_1, d_1, ...] and sum over the repeats.
const tile: GradientRule = (ctx) => {
  const { b } = ctx;
  const xDims = ctx.dims(ctx.node.input[0]);
  const repeats = ctx.values(ctx.node.input[1]);
  const split = xDims.flatMap((d, i) => [repeats[i], d]);
  const g = b.op1('Reshape', [ctx.grads[0]!, b.constInt64(split)]);
  const summed = b.op1('ReduceSum', [g, b.constInt64(xDims.map((_, i) => 2 * i))], { keepdims: { i: 0 } });
  return [summed, undefined];
};

/** Rules for ops that move elements without arithmetic. */
export const shapeRules: Record<string, GradientRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
  Expand: expand,
  Tile: tile,
};
