/** A float32 tensor as it crosses the netvis API: row-major data and its dims (NCHW for images). */
export interface Tensor {
  data: Float32Array;
  dims: number[];
}

/** Number of elements of a tensor with these dims. */
export function sizeOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** A tensor of zeros (or of `data` when given) with the given dims; checks the element count. */
export function tensor(dims: number[], data?: Float32Array): Tensor {
  const size = sizeOf(dims);
  if (data && data.length !== size)
    throw new Error(`tensor: ${data.length} values do not fill dims [${dims}]`);
  return { data: data ?? new Float32Array(size), dims: [...dims] };
}

/** Row `i` of the leading axis of `t`, as a new tensor with that axis kept at size 1 (copies). */
export function sliceBatch(t: Tensor, i: number, count = 1): Tensor {
  const per = sizeOf(t.dims.slice(1));
  return { data: t.data.slice(i * per, (i + count) * per), dims: [count, ...t.dims.slice(1)] };
}

/** Tensors of equal trailing dims joined along the leading axis. */
export function concatBatch(ts: readonly Tensor[]): Tensor {
  if (ts.length === 0) throw new Error('concatBatch: no tensors');
  const rest = ts[0].dims.slice(1);
  for (const t of ts) {
    if (t.dims.slice(1).join() !== rest.join())
      throw new Error(`concatBatch: dims [${t.dims}] do not match [${ts[0].dims}]`);
  }
  const data = new Float32Array(ts.reduce((n, t) => n + t.data.length, 0));
  let off = 0;
  for (const t of ts) {
    data.set(t.data, off);
    off += t.data.length;
  }
  return { data, dims: [ts.reduce((n, t) => n + t.dims[0], 0), ...rest] };
}

/** Euclidean norm of all values (float64 accumulation). */
export function l2Norm(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/** `x` (count×…) grown to `size` rows by repeating its last row. */
export function padBatch(x: Tensor, size: number): Tensor {
  const [count, ...rest] = x.dims;
  const per = x.data.length / count;
  const data = new Float32Array(size * per);
  data.set(x.data);
  for (let i = count; i < size; i++) data.copyWithin(i * per, (count - 1) * per, count * per);
  return { data, dims: [size, ...rest] };
}
