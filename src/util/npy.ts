// NumPy's .npy format (version 1.0 to 3.0), for float32 tensors: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
import type { Tensor } from '../tensor.js';

/**
 * The float32 tensor in .npy bytes: dtype `<f4` (or `<f8`, narrowed to float32), C order. Throws an Error naming
 * `source` for anything else.
 */
export function parseNpy(bytes: Uint8Array, source = 'npy'): Tensor {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 6));
  if (magic !== '\x93NUMPY') throw new Error(`${source}: not a .npy file`);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  if (descr !== '<f4' && descr !== '<f8')
    throw new Error(`${source}: dtype ${descr}, expected float32 (<f4)`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${source}: Fortran order is not supported`);
  const dims = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const offset = start + headerLen;
  const count = dims.reduce((a, b) => a * b, 1);
  const width = descr === '<f4' ? 4 : 8;
  if (bytes.length < offset + count * width)
    throw new Error(`${source}: ${bytes.length - offset} data bytes for shape (${dims.join(', ')})`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++)
    data[i] = width === 4 ? view.getFloat32(offset + 4 * i, true) : view.getFloat64(offset + 8 * i, true);
  return { data, dims };
}

/** A float32 tensor as .npy (version 1.0) bytes. */
export function encodeNpy(t: Tensor): Uint8Array {
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // The header is padded with spaces so that the data starts at a multiple of 64 bytes, and ends in a newline.
  header = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(10 + header.length + t.data.length * 4);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const view = new DataView(out.buffer, 10 + header.length);
  t.data.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}
