import {
  broadcastDims,
  CannotInfer,
  castTo,
  input,
  intsFrom,
  needValue,
  normAxis,
  range,
  size,
  take,
  typeOf,
  type Facts,
  type ShapeContext,
  type ShapeRule,
} from './common.js';

/**
 * Output sizes of a sliding window over `spatial` (Conv, pooling) from kernel, strides, pads, dilations,
 * auto_pad and ceil_mode, as ONNX Runtime computes them (a ceil-mode window must start inside the input
 * or its leading pad).
 */
function windowed(ctx: ShapeContext, spatial: number[], kernel: number[]): number[] {
  const r = spatial.length;
  const st = ctx.attrs.ints('strides', new Array<number>(r).fill(1));
  const dil = ctx.attrs.ints('dilations', new Array<number>(r).fill(1));
  const pads = ctx.attrs.ints('pads', new Array<number>(2 * r).fill(0));
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  const ceil = ctx.attrs.int('ceil_mode', 0) === 1;
  return spatial.map((n, i) => {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(n / st[i]);
    const [begin, end] = autoPad === 'VALID' ? [0, 0] : [pads[i], pads[i + r]];
    const span = n + begin + end - dil[i] * (kernel[i] - 1) - 1;
    let out = (ceil ? Math.ceil(span / st[i]) : Math.floor(span / st[i])) + 1;
    if (ceil && (out - 1) * st[i] >= n + begin) out--;
    return out;
  });
}

const conv: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const w = input(ctx, 1).dims;
  const kernel = ctx.attrs.ints('kernel_shape', w.slice(2));
  return [{ type: x.type, dims: [x.dims[0], w[0], ...windowed(ctx, x.dims.slice(2), kernel)] }];
};

const convTranspose: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const w = input(ctx, 1).dims;
  const spatial = x.dims.slice(2);
  const r = spatial.length;
  const channels = w[1] * ctx.attrs.int('group', 1);
  if (ctx.attrs.has('output_shape')) {
    return [{ type: x.type, dims: [x.dims[0], channels, ...ctx.attrs.ints('output_shape', []).slice(-r)] }];
  }
  const kernel = ctx.attrs.ints('kernel_shape', w.slice(2));
  const st = ctx.attrs.ints('strides', new Array<number>(r).fill(1));
  const dil = ctx.attrs.ints('dilations', new Array<number>(r).fill(1));
  const outPad = ctx.attrs.ints('output_padding', new Array<number>(r).fill(0));
  const pads = ctx.attrs.ints('pads', new Array<number>(2 * r).fill(0));
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  const out = spatial.map((n, i) =>
    autoPad.startsWith('SAME')
      ? n * st[i]
      : st[i] * (n - 1) + outPad[i] + (kernel[i] - 1) * dil[i] + 1 - pads[i] - pads[i + r],
  );
  return [{ type: x.type, dims: [x.dims[0], channels, ...out] }];
};

const pool: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const dims = [x.dims[0], x.dims[1], ...windowed(ctx, x.dims.slice(2), ctx.attrs.ints('kernel_shape', []))];
  // MaxPool's optional second output: the argmax indices.
  return [
    { type: x.type, dims },
    { type: 'int64', dims },
  ];
};

const globalPool: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  return [{ type: x.type, dims: [x.dims[0], x.dims[1], ...x.dims.slice(2).map(() => 1)] }];
};

const matMul: ShapeRule = (ctx) => {
  const a = input(ctx, 0);
  const b = input(ctx, 1);
  // 1-D operands are promoted to matrices and the added axis removed again (numpy.matmul).
  const ad = a.dims.length === 1 ? [1, ...a.dims] : a.dims;
  const bd = b.dims.length === 1 ? [...b.dims, 1] : b.dims;
  const dims = [...broadcastDims(ad.slice(0, -2), bd.slice(0, -2)), ad[ad.length - 2], bd[bd.length - 1]];
  if (b.dims.length === 1) dims.splice(-1, 1);
  if (a.dims.length === 1) dims.splice(-2, 1);
  return [{ type: a.type, dims }];
};

const gemm: ShapeRule = (ctx) => {
  const a = input(ctx, 0);
  const b = input(ctx, 1).dims;
  const m = ctx.attrs.int('transA', 0) ? a.dims[1] : a.dims[0];
  const n = ctx.attrs.int('transB', 0) ? b[0] : b[1];
  return [{ type: a.type, dims: [m, n] }];
};

const einsum: ShapeRule = (ctx) => {
  const eq = ctx.attrs.string('equation', '').replace(/\s/g, '');
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  const letters = new Map<string, number>();
  const counts = new Map<string, number>();
  const ellipses: number[][] = [];
  terms.forEach((term, i) => {
    const dims = input(ctx, i).dims;
    const [before, after = ''] = term.split('...');
    const named = before.length + after.length;
    const ell = term.includes('...') ? dims.slice(before.length, dims.length - after.length) : [];
    ellipses.push(ell);
    if (dims.length !== named + ell.length) throw new CannotInfer(`einsum term ${term} vs dims [${dims}]`);
    [...before, ...after].forEach((c, k) => {
      const d = k < before.length ? dims[k] : dims[dims.length - after.length + k - before.length];
      letters.set(c, Math.max(letters.get(c) ?? 1, d));
      counts.set(c, (counts.get(c) ?? 0) + 1);
    });
  });
  const ell = broadcastDims(...ellipses);
  const out =
    rhs ??
    `...${[...counts]
      .filter(([, n]) => n === 1)
      .map(([c]) => c)
      .sort()
      .join('')}`;
  const [before, after = ''] = out.split('...');
  const dims = [
    ...[...before].map((c) => letters.get(c)!),
    ...(out.includes('...') ? ell : []),
    ...[...after].map((c) => letters.get(c)!),
  ];
  return [{ type: input(ctx, 0).type, dims }];
};

const layerNormalization: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const axis = normAxis(ctx.attrs.int('axis', -1), x.dims.length);
  const stats = x.dims.map((d, i) => (i < axis ? d : 1));
  const stash = typeOf(ctx.attrs.int('stash_type', 1));
  return [
    { type: x.type, dims: x.dims },
    { type: stash, dims: stats },
    { type: stash, dims: stats },
  ];
};

const batchNormalization: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  // Training-mode outputs (running and saved statistics) are per channel.
  const stat: Facts = { type: x.type, dims: [x.dims[1]] };
  return [{ type: x.type, dims: x.dims }, stat, stat, stat, stat];
};

const dropout: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  return [
    { type: x.type, dims: x.dims },
    { type: 'bool', dims: x.dims },
  ];
};

const topK: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const axis = normAxis(ctx.attrs.int('axis', -1), x.dims.length);
  const k = ctx.attrs.has('k') ? ctx.attrs.int('k', 0) : needValue(ctx, 1)[0];
  const dims = [...x.dims];
  dims[axis] = k;
  return [
    { type: x.type, dims },
    { type: 'int64', dims },
  ];
};

const argReduce: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const axis = normAxis(ctx.attrs.int('axis', 0), x.dims.length);
  const keep = ctx.attrs.int('keepdims', 1) === 1;
  return [{ type: 'int64', dims: x.dims.flatMap((d, i) => (i !== axis ? [d] : keep ? [1] : [])) }];
};

// Reductions folded for shape code (ReduceProd of a Shape): the rest only get dims.
const REDUCERS: Record<string, [(a: number, b: number) => number, number] | undefined> = {
  ReduceSum: [(a, b) => a + b, 0],
  ReduceProd: [(a, b) => a * b, 1],
  ReduceMax: [Math.max, -Infinity],
  ReduceMin: [Math.min, Infinity],
  ReduceMean: undefined,
  ReduceL1: undefined,
  ReduceL2: undefined,
  ReduceLogSum: undefined,
  ReduceLogSumExp: undefined,
  ReduceSumSquare: undefined,
};

const reduce =
  (reducer: [(a: number, b: number) => number, number] | undefined): ShapeRule =>
  (ctx) => {
    const x = input(ctx, 0);
    const r = x.dims.length;
    // Axes are an attribute until opset 13 (ReduceSum) or 18 (the others), an optional input since.
    const given = intsFrom(ctx, 'axes', 1) ?? [];
    if (given.length === 0 && ctx.attrs.int('noop_with_empty_axes', 0) === 1) {
      return [{ type: x.type, dims: x.dims, value: ctx.value(0) }];
    }
    const axes = given.length ? given.map((a) => normAxis(a, r)) : range(r);
    const kept = x.dims.map((d, i) => (axes.includes(i) ? 1 : d));
    const dims = ctx.attrs.int('keepdims', 1) === 1 ? kept : x.dims.filter((_, i) => !axes.includes(i));
    const v = reducer && ctx.value(0);
    let value: Float64Array | undefined;
    if (v && reducer) {
      const [f, init] = reducer;
      value = new Float64Array(size(kept)).fill(init);
      const target = take(
        kept,
        x.dims.map((d, i) => (axes.includes(i) ? new Array<number>(d).fill(0) : range(d))),
      );
      for (let k = 0; k < v.length; k++) value[target[k]] = f(value[target[k]], v[k]);
      value = castTo(x.type, value);
    }
    return [{ type: x.type, dims, value }];
  };

/** Shape rules of network layers: convolutions, pooling, matrix products, normalizations, reductions, TopK. */
export const nnShapeRules: Record<string, ShapeRule> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  MatMul: matMul,
  Gemm: gemm,
  Einsum: einsum,
  LayerNormalization: layerNormalization,
  BatchNormalization: batchNormalization,
  Dropout: dropout,
  TopK: topK,
  ArgMax: argReduce,
  ArgMin: argReduce,
  ...Object.fromEntries(Object.entries(REDUCERS).map(([op, f]) => [op, reduce(f)])),
};
