import { onnx } from '../proto.js';
import { decodeTensor } from '../tensor-proto.js';
import {
  broadcastDims,
  broadcastIndex,
  CannotInfer,
  castTo,
  gather,
  input,
  intsFrom,
  needValue,
  normAxis,
  range,
  size,
  strides,
  take,
  takeStrided,
  typeOf,
  type Facts,
  type ShapeContext,
  type ShapeRule,
} from './common.js';

const constant: ShapeRule = (ctx) => {
  const a = ctx.attrs;
  const t = a.tensor('value');
  if (t) {
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) throw new CannotInfer('external data');
    return [{ type: typeOf(t.dataType), dims: t.dims.map(Number), lazy: () => decodeTensor(t).data }];
  }
  if (a.has('value_float'))
    return [{ type: 'float32', dims: [], value: Float64Array.of(a.float('value_float', 0)) }];
  if (a.has('value_floats')) {
    const v = Float64Array.from(a.floats('value_floats', []));
    return [{ type: 'float32', dims: [v.length], value: v }];
  }
  if (a.has('value_int')) return [{ type: 'int64', dims: [], value: Float64Array.of(a.int('value_int', 0)) }];
  if (a.has('value_ints')) {
    const v = Float64Array.from(a.ints('value_ints', []));
    return [{ type: 'int64', dims: [v.length], value: v }];
  }
  throw new CannotInfer('Constant without a numeric value');
};

const shape: ShapeRule = (ctx) => {
  const dims = input(ctx, 0).dims;
  const r = dims.length;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const picked = dims.slice(clamp(ctx.attrs.int('start', 0)), clamp(ctx.attrs.int('end', r)));
  return [{ type: 'int64', dims: [picked.length], value: Float64Array.from(picked) }];
};

const sizeRule: ShapeRule = (ctx) => [
  { type: 'int64', dims: [], value: Float64Array.of(size(input(ctx, 0).dims)) },
];

// Ops that keep the elements in order and only change dims: the value passes through.
const reshaped = (ctx: ShapeContext, dims: number[]): Facts[] => {
  const x = input(ctx, 0);
  if (size(dims) !== size(x.dims)) throw new CannotInfer(`cannot reshape [${x.dims}] to [${dims}]`);
  return [{ type: x.type, dims, value: ctx.value(0) }];
};

const reshape: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const target = intsFrom(ctx, 'shape', 1) ?? [];
  const allowZero = ctx.attrs.int('allowzero', 0) === 1;
  const dims = target.map((d, i) => (d === 0 && !allowZero ? x.dims[i] : d));
  const unknown = dims.indexOf(-1);
  if (unknown >= 0) {
    const rest = size(dims.filter((_, i) => i !== unknown));
    dims[unknown] = rest === 0 ? 0 : size(x.dims) / rest;
  }
  return reshaped(ctx, dims);
};

const flatten: ShapeRule = (ctx) => {
  const d = input(ctx, 0).dims;
  const axis = ctx.attrs.int('axis', 1);
  const a = axis < 0 ? axis + d.length : axis;
  return reshaped(ctx, [size(d.slice(0, a)), size(d.slice(a))]);
};

const squeeze: ShapeRule = (ctx) => {
  const d = input(ctx, 0).dims;
  const axes = intsFrom(ctx, 'axes', 1)?.map((a) => normAxis(a, d.length));
  return reshaped(
    ctx,
    d.filter((v, i) => (axes ? !axes.includes(i) : v !== 1)),
  );
};

const unsqueeze: ShapeRule = (ctx) => {
  const d = input(ctx, 0).dims;
  const given = intsFrom(ctx, 'axes', 1) ?? [];
  const rank = d.length + given.length;
  const axes = given.map((a) => normAxis(a, rank));
  const dims: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) dims.push(axes.includes(i) ? 1 : d[k++]);
  return reshaped(ctx, dims);
};

const transpose: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const r = x.dims.length;
  const perm = ctx.attrs.ints('perm', range(r).reverse());
  const dims = perm.map((p) => x.dims[p]);
  const st = strides(x.dims);
  const v = ctx.value(0);
  const value =
    v &&
    gather(
      v,
      takeStrided(
        perm.map((p) => st[p]),
        dims.map(range),
      ),
    );
  return [{ type: x.type, dims, value }];
};

const concat: ShapeRule = (ctx) => {
  const parts = ctx.node.input.map((_, i) => input(ctx, i));
  const first = parts[0];
  const axis = normAxis(ctx.attrs.int('axis', 0), first.dims.length);
  const dims = [...first.dims];
  dims[axis] = parts.reduce((s, p) => s + p.dims[axis], 0);
  const values = parts.map((_, i) => ctx.value(i));
  let value: Float64Array | undefined;
  if (values.every(Boolean)) {
    value = new Float64Array(size(dims));
    const outer = size(dims.slice(0, axis));
    let n = 0;
    for (let o = 0; o < outer; o++) {
      parts.forEach((p, i) => {
        const block = size(p.dims.slice(axis));
        value!.set(values[i]!.subarray(o * block, (o + 1) * block), n);
        n += block;
      });
    }
  }
  return [{ type: first.type, dims, value }];
};

const split: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const axis = normAxis(ctx.attrs.int('axis', 0), x.dims.length);
  const n = ctx.node.output.length;
  const d = x.dims[axis];
  let sizes = intsFrom(ctx, 'split', 1);
  if (!sizes) {
    // Opset 18's num_outputs gives ceil-sized parts, the last one smaller; before, parts are equal.
    const part = Math.ceil(d / n);
    sizes = range(n).map((i) => Math.min(part, d - i * part));
  }
  const v = ctx.value(0);
  let start = 0;
  return sizes.map((s) => {
    const dims = [...x.dims];
    dims[axis] = s;
    const idx = x.dims.map(range);
    idx[axis] = range(s).map((i) => i + start);
    start += s;
    return { type: x.type, dims, value: v && gather(v, take(x.dims, idx)) };
  });
};

const slice: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const r = x.dims.length;
  // Attributes before opset 10, inputs since.
  const attrs = ctx.opset < 10;
  const starts = attrs ? ctx.attrs.ints('starts', []) : needValue(ctx, 1);
  const ends = attrs ? ctx.attrs.ints('ends', []) : needValue(ctx, 2);
  const givenAxes = attrs ? ctx.attrs.ints('axes', range(starts.length)) : intsFrom(ctx, 'axes', 3);
  const axes = (givenAxes ?? range(starts.length)).map((a) => normAxis(a, r));
  const steps = !attrs && ctx.node.input[4] ? needValue(ctx, 4) : starts.map(() => 1);
  const idx = x.dims.map(range);
  axes.forEach((axis, i) => {
    const d = x.dims[axis];
    const step = steps[i];
    let s = starts[i] < 0 ? starts[i] + d : starts[i];
    let e = ends[i] < 0 ? ends[i] + d : ends[i];
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    const count = Math.max(0, Math.ceil((e - s) / step));
    idx[axis] = range(count).map((k) => s + k * step);
  });
  const dims = idx.map((l) => l.length);
  const v = ctx.value(0);
  return [{ type: x.type, dims, value: v && gather(v, take(x.dims, idx)) }];
};

const gatherRule: ShapeRule = (ctx) => {
  const data = input(ctx, 0);
  const indices = input(ctx, 1);
  const axis = normAxis(ctx.attrs.int('axis', 0), data.dims.length);
  const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
  const v = ctx.value(0);
  const iv = v && ctx.value(1);
  let value: Float64Array | undefined;
  if (v && iv) {
    const idx = data.dims.map(range);
    idx[axis] = Array.from(iv, (i) => (i < 0 ? i + data.dims[axis] : i));
    value = gather(v, take(data.dims, idx));
  }
  return [{ type: data.type, dims, value }];
};

const gatherElements: ShapeRule = (ctx) => [{ type: input(ctx, 0).type, dims: input(ctx, 1).dims }];

const gatherND: ShapeRule = (ctx) => {
  const data = input(ctx, 0).dims;
  const idx = input(ctx, 1).dims;
  const b = ctx.attrs.int('batch_dims', 0);
  const k = idx[idx.length - 1];
  return [{ type: input(ctx, 0).type, dims: [...idx.slice(0, -1), ...data.slice(b + k)] }];
};

const REDUCE: Record<string, (a: number, b: number) => number> = {
  none: (_a, b) => b,
  add: (a, b) => a + b,
  mul: (a, b) => a * b,
  max: Math.max,
  min: Math.min,
};

const scatterND: ShapeRule = (ctx) => {
  const data = input(ctx, 0);
  const v = ctx.value(0);
  const iv = v && ctx.value(1);
  const uv = iv && ctx.value(2);
  if (!v || !iv || !uv) return [{ type: data.type, dims: data.dims }];
  const combine = REDUCE[ctx.attrs.string('reduction', 'none')];
  const idxDims = input(ctx, 1).dims;
  const k = idxDims[idxDims.length - 1];
  const st = strides(data.dims);
  const block = size(data.dims.slice(k));
  const out = Float64Array.from(v);
  for (let t = 0; t < iv.length / k; t++) {
    let base = 0;
    for (let j = 0; j < k; j++) {
      const i = iv[t * k + j];
      base += (i < 0 ? i + data.dims[j] : i) * st[j];
    }
    for (let e = 0; e < block; e++) out[base + e] = combine(out[base + e], uv[t * block + e]);
  }
  return [{ type: data.type, dims: data.dims, value: castTo(data.type, out) }];
};

const sameAsData: ShapeRule = (ctx) => [{ type: input(ctx, 0).type, dims: input(ctx, 0).dims }];

const expand: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const dims = broadcastDims(x.dims, needValue(ctx, 1));
  const v = ctx.foldable(dims) ? ctx.value(0) : undefined;
  return [{ type: x.type, dims, value: v && gather(v, broadcastIndex(x.dims, dims)) }];
};

const tile: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const repeats = needValue(ctx, 1);
  const dims = x.dims.map((d, i) => d * repeats[i]);
  const v = ctx.foldable(dims) ? ctx.value(0) : undefined;
  const value =
    v &&
    gather(
      v,
      take(
        x.dims,
        dims.map((n, i) => range(n).map((j) => j % x.dims[i])),
      ),
    );
  return [{ type: x.type, dims, value }];
};

const constantOfShape: ShapeRule = (ctx) => {
  const dims = needValue(ctx, 0);
  const t = ctx.attrs.tensor('value');
  const type = t ? typeOf(t.dataType) : 'float32';
  const fill = t ? Number(decodeTensor(t).data[0]) : 0;
  return [{ type, dims, value: ctx.foldable(dims) ? new Float64Array(size(dims)).fill(fill) : undefined }];
};

const rangeRule: ShapeRule = (ctx) => {
  const [start] = needValue(ctx, 0);
  const [limit] = needValue(ctx, 1);
  const [delta] = needValue(ctx, 2);
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  const type = input(ctx, 0).type;
  const value = ctx.foldable([n])
    ? castTo(
        type,
        Float64Array.from(range(n), (i) => start + i * delta),
      )
    : undefined;
  return [{ type, dims: [n], value }];
};

const pad: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const r = x.dims.length;
  const pads = ctx.opset < 11 ? ctx.attrs.ints('pads', []) : needValue(ctx, 1);
  const axes = ctx.node.input[3] ? needValue(ctx, 3).map((a) => normAxis(a, r)) : range(r);
  const dims = [...x.dims];
  axes.forEach((a, i) => (dims[a] += pads[i] + pads[i + axes.length]));
  return [{ type: x.type, dims }];
};

const resize: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  const r = x.dims.length;
  // Opset 10 (and Upsample 9): X, scales; opset 11+: X, roi, scales, sizes; Upsample 7: a scales attribute.
  const old = ctx.node.opType === 'Upsample' || ctx.opset < 11;
  const axes = ctx.attrs.ints('axes', range(r)).map((a) => normAxis(a, r));
  const dims = [...x.dims];
  const sizesAt = old ? undefined : ctx.node.input[3];
  if (sizesAt) {
    const sizes = needValue(ctx, 3);
    const policy = ctx.attrs.string('keep_aspect_ratio_policy', 'stretch');
    if (policy === 'stretch') axes.forEach((a, i) => (dims[a] = sizes[i]));
    else {
      const ratios = axes.map((a, i) => sizes[i] / x.dims[a]);
      const s = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      axes.forEach((a) => (dims[a] = Math.round(s * x.dims[a])));
    }
  } else {
    const scales = ctx.attrs.has('scales') ? ctx.attrs.floats('scales', []) : needValue(ctx, old ? 1 : 2);
    // ONNX Runtime multiplies in float32 and truncates.
    axes.forEach((a, i) => (dims[a] = Math.floor(Math.fround(Math.fround(x.dims[a]) * scales[i]))));
  }
  return [{ type: x.type, dims }];
};

const depthToSpace: ShapeRule = (ctx) => {
  const [n, c, h, w] = input(ctx, 0).dims;
  const b = ctx.attrs.int('blocksize', 1);
  return [{ type: input(ctx, 0).type, dims: [n, c / (b * b), h * b, w * b] }];
};

const spaceToDepth: ShapeRule = (ctx) => {
  const [n, c, h, w] = input(ctx, 0).dims;
  const b = ctx.attrs.int('blocksize', 1);
  return [{ type: input(ctx, 0).type, dims: [n, c * b * b, h / b, w / b] }];
};

const eyeLike: ShapeRule = (ctx) => {
  const x = input(ctx, 0);
  return [{ type: ctx.attrs.has('dtype') ? typeOf(ctx.attrs.int('dtype', 1)) : x.type, dims: x.dims }];
};

/** Shape rules of operators that move, select or make tensors (the shape arithmetic exporters write). */
export const shapeShapeRules: Record<string, ShapeRule> = {
  Constant: constant,
  Shape: shape,
  Size: sizeRule,
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gatherRule,
  GatherElements: gatherElements,
  GatherND: gatherND,
  ScatterND: scatterND,
  ScatterElements: sameAsData,
  Scatter: sameAsData,
  Expand: expand,
  Tile: tile,
  ConstantOfShape: constantOfShape,
  Range: rangeRule,
  Pad: pad,
  Resize: resize,
  Upsample: resize,
  DepthToSpace: depthToSpace,
  SpaceToDepth: spaceToDepth,
  EyeLike: eyeLike,
};
