import { readFileSync } from 'node:fs';
import { parseNpy } from '../../src/util/npy.js';
import type { Tensor } from '../../src/tensor.js';

/** A float32 array read from a NumPy .npy file (little-endian '<f4', C order). */
export type NpyArray = Tensor;

/** Reads a little-endian float32 C-order .npy file (format versions 1 to 3). */
export function readNpy(path: string): NpyArray {
  return parseNpy(readFileSync(path), path);
}
