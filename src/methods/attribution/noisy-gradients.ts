// The sampling loop SmoothGrad and VarGrad share.
import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { Random } from '../random.js';
import { gradientsAt, type AttributionOptions } from './support.js';

/** Options of the noisy-gradient methods (SmoothGrad, VarGrad). */
export interface NoiseOptions extends AttributionOptions {
  /** Noisy copies per image; default 25. */
  samples?: number;
  /** Noise standard deviation as a fraction of each image's value range (max − min over its pixels); default 0.15. */
  noiseLevel?: number;
  /** Seed of the noise; default 0. The same seed gives the same maps whatever the batch size. */
  seed?: number;
}

// Standard normals from `random`'s uniforms by Marsaglia's polar method: no sin/cos, about twice as fast as
// Box-Muller, which matters here (25 samples of a 224×224 image are 3.8 M draws).
function addNoise(random: Random, x: Float32Array, sigma: number, out: Float32Array): void {
  for (let p = 0; p < out.length; p += 2) {
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * random.next() - 1;
      v = 2 * random.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = sigma * Math.sqrt((-2 * Math.log(s)) / s);
    out[p] = x[p] + u * f;
    if (p + 1 < out.length) out[p + 1] = x[p + 1] + v * f;
  }
}

/**
 * Sums Σ g and Σ g² (float64, N×3×H×W) of the input gradients of each image's label logit over `samples` copies of
 * the image plus Gaussian noise of standard deviation `noiseLevel · (max − min)` (PAIR saliency's `stdev_spread`).
 */
export async function noisyGradientMoments(
  classifier: Classifier,
  images: Tensor,
  labels: readonly number[],
  method: string,
  { samples = 25, noiseLevel = 0.15, seed = 0, batchSize = 5, onStep, signal }: NoiseOptions,
): Promise<{ sum: Float64Array; sumSq: Float64Array; samples: number }> {
  if (!(Number.isInteger(samples) && samples > 0))
    throw new RangeError(`${method}: samples ${samples}, expected a positive integer`);
  if (!(noiseLevel >= 0 && Number.isFinite(noiseLevel)))
    throw new RangeError(`${method}: noiseLevel ${noiseLevel}, expected a number ≥ 0`);
  const n = images.dims[0];
  const per = images.data.length / n;
  const sigma = Array.from({ length: n }, (_, i) => {
    const x = images.data.subarray(i * per, (i + 1) * per);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    return noiseLevel * (hi - lo);
  });
  const random = new Random(seed);
  const sum = new Float64Array(images.data.length);
  const sumSq = new Float64Array(images.data.length);
  await gradientsAt(
    classifier,
    images.dims,
    n * samples,
    (j, out) => {
      const i = Math.floor(j / samples);
      addNoise(random, images.data.subarray(i * per, (i + 1) * per), sigma[i], out);
      return labels[i];
    },
    (j, g) => {
      const base = Math.floor(j / samples) * per;
      for (let p = 0; p < per; p++) {
        sum[base + p] += g[p];
        sumSq[base + p] += g[p] * g[p];
      }
    },
    { batchSize, onStep, signal },
  );
  return { sum, sumSq, samples };
}
