import { readFileSync } from 'node:fs';

/** A float32 array read from a NumPy .npy file (little-endian '<f4', C order). */
export interface NpyArray {
  data: Float32Array;
  dims: number[];
}

/** Reads a little-endian float32 or int32 C-order .npy file (format versions 1 to 3); int32 values come as floats (exact below 2²⁴). */
export function readNpy(path: string): NpyArray {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4' && descr !== '<i4') throw new Error(`${path}: dtype ${descr}, expected <f4 or <i4`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${path}: Fortran order is not supported`);
  const dims = (shape ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const offset = start + headerLen;
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  const view = new DataView(buf.buffer, buf.byteOffset + offset, count * 4);
  for (let i = 0; i < count; i++)
    data[i] = descr === '<f4' ? view.getFloat32(i * 4, true) : view.getInt32(i * 4, true);
  return { data, dims };
}
