import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import type { Random } from '../random.js';
import type { Target } from './support.js';
import {
  surrogateMaps,
  weightedLeastSquares,
  type SurrogateOptions,
  type SurrogateResult,
} from './surrogate.js';

/** KernelSHAP's result: also the score with every feature off, and how far the attributions are from adding up. */
export interface KernelShapResult extends SurrogateResult {
  /** Each image's logit with every feature at the baseline. */
  baselineScores: number[];
  /** (Σ φ − (f(x) − f(baseline))) / (f(x) − f(baseline)) per image. */
  gaps: number[];
}

// Per image, `samples` rows of a binary z (samples × m): the all-ones and all-zeros rows first, then rows with k
// features on, k drawn with p(k) ∝ (m − 1) / (k(m − k)) for 1 ≤ k < m and the k features uniformly (Captum's
// kernel_shap_perturb_generator): sampled this way, equal weights give the Shapley kernel.
function shapleySamples(m: number, samples: number, random: Random): Uint8Array {
  const z = new Uint8Array(samples * m);
  z.fill(1, 0, m);
  const cumulative: number[] = [];
  let total = 0;
  for (let k = 1; k < m; k++) cumulative.push((total += (m - 1) / (k * (m - k))));
  const order = Array.from({ length: m }, (_, j) => j);
  for (let s = 2; s < samples; s++) {
    const u = random.next() * total;
    const k = 1 + cumulative.findIndex((c) => u < c);
    for (let j = 0; j < k; j++) {
      const pick = j + Math.floor(random.next() * (m - j));
      [order[j], order[pick]] = [order[pick], order[j]];
      z[s * m + order[j]] = 1;
    }
  }
  return z;
}

/**
 * KernelSHAP (Lundberg & Lee 2017) as Captum's `KernelShap`: `samples` (default 500) coalitions of the image's features
 * (`featureMask`, default SLIC superpixels) are scored by the target's logit with the switched-off features at
 * `baseline` (default 0, the mean colour); the all-on and all-off coalitions weigh 10⁶, the others 1, drawn so that
 * this equals the Shapley kernel; a weighted linear regression gives each feature's Shapley value estimate. N×H×W, signed,
 * each pixel its feature's value; they add up to f(x) − f(baseline) (the gap is returned). Seeded (`seed`, default 0);
 * samples run in batches of `batchSize` (default 50); `onStep` counts samples.
 */
export async function kernelShap(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  options: SurrogateOptions = {},
): Promise<KernelShapResult> {
  const baselineScores: number[] = [];
  const gaps: number[] = [];
  const result = await surrogateMaps(
    classifier,
    images,
    target,
    'kernelShap',
    3,
    options,
    async (image, samples) => {
      const m = image.mask.count;
      const z = shapleySamples(m, samples, image.random);
      const y = await image.score(z);
      const weights = new Float64Array(samples).fill(1);
      weights[0] = weights[1] = 1e6;
      const fit = weightedLeastSquares(z, y, weights, m);
      const sum = fit.coef.reduce((a, b) => a + b, 0);
      const delta = y[0] - y[1];
      baselineScores.push(y[1]);
      gaps.push((sum - delta) / delta);
      return fit;
    },
  );
  return { ...result, baselineScores, gaps };
}
