import {
  broadcastDims,
  broadcastValue,
  castTo,
  input,
  isFloat,
  typeOf,
  type Facts,
  type ShapeContext,
  type ShapeRule,
} from './common.js';
import type { ElementType } from '../tensor-proto.js';

// Values are folded where shape code uses the operator (integer arithmetic, Swin's masks, scales):
// the rest only pass type and dims on.
const UNARY: Record<string, ((x: number) => number) | undefined> = {
  Identity: (x) => x,
  Neg: (x) => -x,
  Abs: Math.abs,
  Sqrt: Math.sqrt,
  Reciprocal: (x) => 1 / x,
  Exp: Math.exp,
  Log: Math.log,
  Floor: Math.floor,
  Ceil: Math.ceil,
  // ONNX Round rounds halves to even.
  Round: (x) => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x)),
  Sign: Math.sign,
  Relu: (x) => Math.max(x, 0),
  Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  Tanh: Math.tanh,
  Erf: undefined,
  Softplus: undefined,
  Softsign: undefined,
  Elu: undefined,
  Selu: undefined,
  Celu: undefined,
  LeakyRelu: undefined,
  ThresholdedRelu: undefined,
  HardSigmoid: undefined,
  HardSwish: undefined,
  Mish: undefined,
  Gelu: undefined,
  Sin: Math.sin,
  Cos: Math.cos,
  Shrink: undefined,
  Softmax: undefined,
  LogSoftmax: undefined,
  Hardmax: undefined,
  LRN: undefined,
  CumSum: undefined,
  Trilu: undefined,
  MeanVarianceNormalization: undefined,
  InstanceNormalization: undefined,
  GroupNormalization: undefined,
};

// Same type and dims as the first input; the value folded when the operator is in UNARY with a function.
const sameAsFirst =
  (f: ((x: number) => number) | undefined): ShapeRule =>
  (ctx) => {
    const x = input(ctx, 0);
    const v = f && ctx.value(0);
    return [{ type: x.type, dims: x.dims, value: v ? castTo(x.type, v.map(f)) : undefined }];
  };

const BINARY: Record<string, (a: number, b: number, type: ElementType) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  // Integer division truncates toward zero, as C++ (ONNX Runtime) does.
  Div: (a, b, t) => (isFloat(t) ? a / b : Math.trunc(a / b)),
  Pow: (a, b) => a ** b,
  Max: (a, b) => Math.max(a, b),
  Min: (a, b) => Math.min(a, b),
  Sum: (a, b) => a + b,
};

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  Equal: (a, b) => a === b,
  Less: (a, b) => a < b,
  Greater: (a, b) => a > b,
  LessOrEqual: (a, b) => a <= b,
  GreaterOrEqual: (a, b) => a >= b,
  And: (a, b) => a !== 0 && b !== 0,
  Or: (a, b) => a !== 0 || b !== 0,
  Xor: (a, b) => (a !== 0) !== (b !== 0),
};

/** Values of inputs `a` and `b` broadcast to `dims` and combined elementwise by `f`, or undefined if unknown. */
function foldPair(
  ctx: ShapeContext,
  [a, b]: [number, number],
  dims: number[],
  f: (x: number, y: number) => number,
): Float64Array | undefined {
  if (!ctx.foldable(dims) || !ctx.value(a) || !ctx.value(b)) return undefined;
  const x = broadcastValue(ctx, a, dims)!;
  const y = broadcastValue(ctx, b, dims)!;
  const out = new Float64Array(x.length);
  for (let k = 0; k < out.length; k++) out[k] = f(x[k], y[k]);
  return out;
}

// Variadic broadcasting ops (Add … Sum, Max, Min, Mean): the result has the first input's type.
const binary =
  (f: ((a: number, b: number, type: ElementType) => number) | undefined): ShapeRule =>
  (ctx) => {
    const all = ctx.node.input.map((_, i) => i);
    const dims = broadcastDims(...all.map((i) => input(ctx, i).dims));
    const type = input(ctx, 0).type;
    const known = all.length > 1 && all.every((i) => ctx.value(i));
    const v = f && known ? foldPair(ctx, [0, 1], dims, (a, b) => f(a, b, type)) : undefined;
    for (let i = 2; v && i < all.length; i++) {
      const next = broadcastValue(ctx, i, dims)!;
      for (let k = 0; k < v.length; k++) v[k] = f!(v[k], next[k], type);
    }
    return [{ type, dims, value: v && castTo(type, v) }];
  };

const compare =
  (f: (a: number, b: number) => boolean): ShapeRule =>
  (ctx) => {
    const dims = broadcastDims(input(ctx, 0).dims, input(ctx, 1).dims);
    return [{ type: 'bool', dims, value: foldPair(ctx, [0, 1], dims, (a, b) => (f(a, b) ? 1 : 0)) }];
  };

const mod: ShapeRule = (ctx) => {
  const dims = broadcastDims(input(ctx, 0).dims, input(ctx, 1).dims);
  const type = input(ctx, 0).type;
  // fmod=0 takes the divisor's sign (Python's %), fmod=1 the dividend's (C's fmod).
  const c = ctx.attrs.int('fmod', 0) === 1;
  const v = foldPair(ctx, [0, 1], dims, (a, b) => (c ? a % b : ((a % b) + b) % b));
  return [{ type, dims, value: v && castTo(type, v) }];
};

const where: ShapeRule = (ctx) => {
  const dims = broadcastDims(input(ctx, 0).dims, input(ctx, 1).dims, input(ctx, 2).dims);
  const type = input(ctx, 1).type;
  const known = ctx.foldable(dims) && [0, 1, 2].every((i) => ctx.value(i));
  const [c, a, b] = known ? [0, 1, 2].map((i) => broadcastValue(ctx, i, dims)) : [];
  let value: Float64Array | undefined;
  if (c && a && b) {
    value = new Float64Array(c.length);
    for (let k = 0; k < value.length; k++) value[k] = c[k] !== 0 ? a[k] : b[k];
  }
  return [{ type, dims, value }];
};

const not: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const v = ctx.value(0);
  return [{ type: 'bool', dims: x.dims, value: v?.map((a) => (a === 0 ? 1 : 0)) }];
};

const castRule =
  (target: (ctx: ShapeContext) => ElementType): ShapeRule =>
  (ctx) => {
    const x = input(ctx, 0);
    const type = target(ctx);
    const v = ctx.value(0);
    return [{ type, dims: x.dims, value: v ? castTo(type, v) : undefined }];
  };

const clip: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const v = ctx.value(0);
  if (!v) return [{ type: x.type, dims: x.dims }];
  // Bounds are attributes before opset 11, optional scalar inputs after.
  const bound = (attr: string, i: number, fallback: number) =>
    ctx.attrs.has(attr) ? ctx.attrs.float(attr, fallback) : ctx.node.input[i] ? ctx.value(i)?.[0] : fallback;
  const lo = bound('min', 1, -Infinity);
  const hi = bound('max', 2, Infinity);
  if (lo === undefined || hi === undefined) return [{ type: x.type, dims: x.dims }];
  return [{ type: x.type, dims: x.dims, value: v.map((a) => Math.min(Math.max(a, lo), hi)) }];
};

const isBool =
  (): ShapeRule =>
  (ctx): Facts[] => [{ type: 'bool', dims: input(ctx, 0).dims }];

const prelu: ShapeRule = (ctx) => [
  { type: input(ctx, 0).type, dims: broadcastDims(input(ctx, 0).dims, input(ctx, 1).dims) },
];

/** Shape rules of elementwise operators: unary, broadcasting binary and variadic, comparisons, Where, Cast. */
export const elementwiseShapeRules: Record<string, ShapeRule> = {
  ...Object.fromEntries(Object.entries(UNARY).map(([op, f]) => [op, sameAsFirst(f)])),
  ...Object.fromEntries(Object.entries(BINARY).map(([op, f]) => [op, binary(f)])),
  ...Object.fromEntries(Object.entries(COMPARE).map(([op, f]) => [op, compare(f)])),
  Mean: binary(undefined),
  Mod: mod,
  Where: where,
  Not: not,
  IsNaN: isBool(),
  IsInf: isBool(),
  PRelu: prelu,
  Clip: clip,
  Cast: castRule((ctx) => typeOf(ctx.attrs.int('to', 0))),
  CastLike: castRule((ctx) => input(ctx, 1).type),
};
