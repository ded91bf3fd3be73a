import type { Attributes } from '../attributes.js';
import type { onnx } from '../proto.js';
import { elementType, type ElementType, type TypedData } from '../tensor-proto.js';

/** What inference knows of a tensor: type, dims, and its values when they are static (as doubles). */
export interface Facts {
  type: ElementType;
  dims: number[];
  value?: Float64Array;
  /** Decodes the exact values of a tensor stored in the graph (initializer, Constant), on demand. */
  lazy?: () => TypedData;
}

/** Thrown by a shape rule when its outputs cannot be known statically: the caller runs the graph instead. */
export class CannotInfer extends Error {
  override name = 'CannotInfer';
}

/** What a shape rule sees of its node. */
export interface ShapeContext {
  node: onnx.NodeProto;
  attrs: Attributes;
  /** The model's ai.onnx opset. */
  opset: number;
  /** Facts of each input; undefined for an omitted optional input. */
  inputs: (Facts | undefined)[];
  /** Values of input `i` when static (decoding a stored tensor on demand), else undefined. */
  value(i: number): Float64Array | undefined;
  /** Whether a value of these dims is small enough to fold. */
  foldable(dims: number[]): boolean;
}

/** Facts of each output (one per node output) from the facts of the inputs. */
export type ShapeRule = (ctx: ShapeContext) => Facts[];

/** Facts of input `i`; throws CannotInfer when it is omitted. */
export function input(ctx: ShapeContext, i: number): Facts {
  const f = ctx.inputs[i];
  if (!f) throw new CannotInfer(`input ${i} missing`);
  return f;
}

/** Values of input `i`, which the output dims need: throws CannotInfer when they are not static. */
export function needValue(ctx: ShapeContext, i: number): number[] {
  const v = ctx.value(i);
  if (!v) throw new CannotInfer(`input ${i} of ${ctx.node.opType} has no static value`);
  return Array.from(v);
}

/** Values of an integer-list attribute, else of input `i` (operators that moved attributes to inputs), else undefined. */
export function intsFrom(ctx: ShapeContext, attr: string, i: number): number[] | undefined {
  if (ctx.attrs.has(attr)) return ctx.attrs.ints(attr, []);
  return ctx.node.input[i] ? needValue(ctx, i) : undefined;
}

/** The element count of dims. */
export function size(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Row-major strides of dims. */
export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/** A possibly negative axis as an index in [0, rank). */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new CannotInfer(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Numpy-style (multidirectional) broadcast of dims. */
export function broadcastDims(...all: number[][]): number[] {
  const rank = Math.max(...all.map((d) => d.length));
  const out = new Array<number>(rank).fill(1);
  for (const d of all) {
    const off = rank - d.length;
    d.forEach((v, i) => {
      const o = out[off + i];
      if (v === o || v === 1) return;
      if (o !== 1) throw new CannotInfer(`dims [${all.join('] [')}] do not broadcast`);
      out[off + i] = v;
    });
  }
  return out;
}

/** The values of input `i` broadcast to `dims` (the input's own array when its dims are `dims`), or undefined. */
export function broadcastValue(
  ctx: ShapeContext,
  i: number,
  dims: readonly number[],
): Float64Array | undefined {
  const v = ctx.value(i);
  const from = ctx.inputs[i]!.dims;
  if (!v || (from.length === dims.length && from.every((d, k) => d === dims[k]))) return v;
  return gather(v, broadcastIndex(from, dims));
}

/**
 * The flat source index in a tensor of dims `from`, broadcast to `to`, of each element of `to`: how a folded
 * elementwise operator reads each input.
 */
export function broadcastIndex(from: readonly number[], to: readonly number[]): Int32Array {
  const padded = [...new Array<number>(to.length - from.length).fill(1), ...from];
  return take(
    padded,
    to.map((d, axis) => (padded[axis] === 1 ? new Array<number>(d).fill(0) : range(d))),
  );
}

/**
 * Flat indices into a tensor of dims `dims` of the elements (idx[0][i0], idx[1][i1], …) in row-major order
 * of the index lists: slicing, tiling, gathering and broadcasting are all this.
 */
export function take(dims: readonly number[], idx: readonly number[][]): Int32Array {
  return takeStrided(strides(dims), idx);
}

/** As `take`, with the strides of each indexed axis given (a transpose reads the input's strides permuted). */
export function takeStrided(st: readonly number[], idx: readonly number[][]): Int32Array {
  const out = new Int32Array(size(idx.map((l) => l.length)));
  if (out.length === 0 || idx.length === 0) return out;
  const offsets = idx.map((l, axis) => Int32Array.from(l, (i) => i * st[axis]));
  const last = offsets[offsets.length - 1];
  const counter = new Array<number>(offsets.length - 1).fill(0);
  // An odometer over the leading axes; the last axis is a plain loop.
  for (let k = 0; ;) {
    let base = 0;
    for (let a = 0; a < counter.length; a++) base += offsets[a][counter[a]];
    for (let j = 0; j < last.length; j++) out[k++] = base + last[j];
    let a = counter.length - 1;
    while (a >= 0 && ++counter[a] === offsets[a].length) counter[a--] = 0;
    if (a < 0) return out;
  }
}

/** 0, 1, …, n − 1. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** `value[index[k]]` for every k, or undefined when the value is unknown. */
export function gather(value: Float64Array | undefined, index: Int32Array): Float64Array | undefined {
  if (!value) return undefined;
  const out = new Float64Array(index.length);
  for (let k = 0; k < index.length; k++) out[k] = value[index[k]];
  return out;
}

/** Rounds doubles to what a tensor of `type` holds: float32 rounding, integer truncation and wrap, bool. */
export function castTo(type: ElementType, v: Float64Array): Float64Array {
  switch (type) {
    case 'float32':
      return v.map(Math.fround);
    case 'float64':
      return v;
    case 'bool':
      return v.map((x) => (x !== 0 ? 1 : 0));
    case 'uint8':
      return v.map((x) => Math.trunc(x) & 0xff);
    case 'int32':
      return v.map((x) => Math.trunc(x) | 0);
    default:
      return v.map(Math.trunc);
  }
}

/** The element type of an ONNX DataType code; CannotInfer for types netvis does not track (float16, strings). */
export function typeOf(code: number): ElementType {
  const t = elementType(code);
  if (!t) throw new CannotInfer(`data type ${code}`);
  return t;
}

/** Whether a type is a float type. */
export const isFloat = (t: ElementType): boolean => t === 'float32' || t === 'float64';
