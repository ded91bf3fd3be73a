import type { Classifier } from '../model/classifier.js';
import { sizeOf, type Tensor } from '../tensor.js';

/**
 * An option outside what a method accepts for this method or input (KernelSHAP's least number of samples, an occlusion
 * window larger than the image): bounds a command-line flag's parser cannot know, so the CLI reports it as a usage error.
 */
export class OptionError extends RangeError {
  override name = 'OptionError';
}

/** A class given as output index, WordNet id (`n01774750`) or name (`tarantula`). */
export type ClassRef = number | string;

/** Output indices of classes given by index, WordNet id or name (throws ClassLookupError with the closest names). */
export function resolveClasses(classifier: Classifier, refs: readonly ClassRef[]): number[] {
  return refs.map((r) => classifier.labels.resolve(r).index);
}

/** One-hot rows N×classes: row i has a 1 at `classes[i]` (CS231n's `gather` as a seed). */
export function oneHot(classes: readonly number[], numClasses: number): Tensor {
  const data = new Float32Array(classes.length * numClasses);
  classes.forEach((c, i) => (data[i * numClasses + c] = 1));
  return { data, dims: [classes.length, numClasses] };
}

/** Index of the largest value in each row of an N×K tensor. */
export function argmaxRows(t: Tensor): number[] {
  const [n, k] = t.dims;
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (t.data[i * k + j] > t.data[i * k + best]) best = j;
    return best;
  });
}

/** Softmax of each row of an N×K tensor (float64 accumulation). */
export function softmaxRows(t: Tensor): Float32Array {
  const [n, k] = t.dims;
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, t.data[i * k + j]);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(t.data[i * k + j] - max);
    for (let j = 0; j < k; j++) out[i * k + j] = Math.exp(t.data[i * k + j] - max) / sum;
  }
  return out;
}

/** Checks that `x` is an N×3×H×W batch. */
export function checkImageBatch(x: Tensor, what = 'images'): void {
  if (x.dims.length !== 4 || x.dims[1] !== 3 || x.data.length !== sizeOf(x.dims)) {
    throw new Error(`${what}: expected an N×3×H×W tensor, got dims [${x.dims}]`);
  }
}

/** L∞ and L2 norms of a change `delta` (1×3×H×W, normalised units), also in 0-255 pixel units via the channels' std. */
export function changeNorms(
  delta: Float32Array,
  std: readonly number[],
): { linf: number; l2: number; linfPixels: number; l2Pixels: number } {
  const plane = delta.length / 3;
  let linf = 0;
  let l2 = 0;
  let linfPixels = 0;
  let l2Pixels = 0;
  for (let c = 0; c < 3; c++) {
    const scale = std[c] * 255;
    for (let i = c * plane; i < (c + 1) * plane; i++) {
      const d = Math.abs(delta[i]);
      linf = Math.max(linf, d);
      l2 += d * d;
      linfPixels = Math.max(linfPixels, d * scale);
      l2Pixels += (d * scale) ** 2;
    }
  }
  return { linf, l2: Math.sqrt(l2), linfPixels, l2Pixels: Math.sqrt(l2Pixels) };
}
