// NumPy's .npy format (version 1.0): https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html

/** A .npy file that cannot be read: not the format, or a dtype or layout netvis does not take. */
export class NpyError extends Error {
  override name = 'NpyError';
}

/** An array read from .npy: values as float64 numbers (exact for every integer dtype up to 2⁵³) and its shape. */
export interface NpyArray {
  data: Float64Array;
  dims: number[];
}

const READERS: Record<string, [number, (v: DataView, o: number) => number]> = {
  '<f4': [4, (v, o) => v.getFloat32(o, true)],
  '<f8': [8, (v, o) => v.getFloat64(o, true)],
  '<i8': [8, (v, o) => Number(v.getBigInt64(o, true))],
  '<i4': [4, (v, o) => v.getInt32(o, true)],
  '<i2': [2, (v, o) => v.getInt16(o, true)],
  '|i1': [1, (v, o) => v.getInt8(o)],
  '<u8': [8, (v, o) => Number(v.getBigUint64(o, true))],
  '<u4': [4, (v, o) => v.getUint32(o, true)],
  '<u2': [2, (v, o) => v.getUint16(o, true)],
  '|u1': [1, (v, o) => v.getUint8(o)],
  '|b1': [1, (v, o) => v.getUint8(o)],
};

/**
 * Reads .npy bytes (format versions 1–3, C order, little-endian numeric dtypes: float32/64, signed and unsigned
 * integers, bool). `source` names the file in errors. Throws an NpyError for anything else.
 */
export function decodeNpy(bytes: Uint8Array, source = 'array'): NpyArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 6));
  if (bytes.length < 10 || magic !== '\x93NUMPY') throw new NpyError(`${source}: not a NumPy .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? '?';
  const reader = READERS[descr];
  if (!reader)
    throw new NpyError(
      `${source}: dtype '${descr}', expected a little-endian number type (float32, int64, …)`,
    );
  if (/'fortran_order':\s*True/.test(header))
    throw new NpyError(`${source}: Fortran order; save it C-ordered (np.ascontiguousarray)`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  const dims = shape
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const [size, read] = reader;
  const offset = start + headerLength;
  if (bytes.length < offset + count * size)
    throw new NpyError(`${source}: truncated (${count} values of ${size} bytes expected)`);
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = read(view, offset + i * size);
  return { data, dims };
}

/** A float32 array as .npy bytes (version 1.0, little-endian '<f4', C order), as `np.save` writes it. */
export function encodeNpy(data: Float32Array, dims: readonly number[]): Uint8Array {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // Magic (6) + version (2) + length (2) + header + '\n' is padded with spaces to a multiple of 64 bytes.
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + data.length * 4);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const view = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}
