import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import type { Target } from './support.js';
import { surrogateMaps, weightedLasso, type SurrogateOptions, type SurrogateResult } from './surrogate.js';

/** LIME's options: the surrogate methods' and the Lasso's strength. */
export interface LimeOptions extends SurrogateOptions {
  /** The Lasso's α; default 0.01 (Captum's `SkLearnLasso(alpha=0.01)`). */
  alpha?: number;
  /** Width of the exponential kernel on the cosine distance; default 1. */
  kernelWidth?: number;
}

/**
 * LIME (Ribeiro et al. 2016) as Captum's `Lime` with its defaults: `samples` (default 500) images with each feature
 * (`featureMask`, default SLIC superpixels) kept with probability ½, else at `baseline` (default 0, the mean colour);
 * each weighted by exp(−d² / 2σ²) with d the cosine distance between the perturbed and the original input and σ =
 * `kernelWidth` (default 1); a Lasso (α = `alpha`, default 0.01) with intercept fits the target's logit from the
 * binary features. N×H×W, signed, each pixel its feature's coefficient (many exactly 0). Seeded (`seed`, default 0);
 * samples run in batches of `batchSize` (default 50); `onStep` counts samples.
 */
export async function lime(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { alpha = 0.01, kernelWidth = 1, ...options }: LimeOptions = {},
): Promise<SurrogateResult> {
  const baseline = options.baseline ?? 0;
  return surrogateMaps(
    classifier,
    images,
    target,
    'lime',
    2,
    options,
    async ({ x, mask, random, score }, samples) => {
      const m = mask.count;
      const z = Uint8Array.from({ length: samples * m }, () => (random.next() < 0.5 ? 1 : 0));
      // Cosine similarity of x and a perturbed x′ from per-feature sums: x·x′ = Σ_on x² + b Σ_off x, ‖x′‖² = Σ_on x² + b² n_off.
      const pixels = mask.labels.length;
      const xx = new Float64Array(m);
      const xs = new Float64Array(m);
      const size = new Float64Array(m);
      for (let p = 0; p < x.length; p++) {
        const f = mask.labels[p % pixels];
        xx[f] += x[p] * x[p];
        xs[f] += x[p];
        size[f]++;
      }
      const norm = Math.sqrt(xx.reduce((a, b) => a + b, 0));
      const weights = new Float64Array(samples);
      for (let s = 0; s < samples; s++) {
        let dot = 0;
        let sq = 0;
        for (let f = 0; f < m; f++) {
          if (z[s * m + f]) {
            dot += xx[f];
            sq += xx[f];
          } else {
            dot += baseline * xs[f];
            sq += baseline * baseline * size[f];
          }
        }
        const distance = sq > 0 ? 1 - dot / (norm * Math.sqrt(sq)) : 1;
        weights[s] = Math.exp(-(distance * distance) / (2 * kernelWidth * kernelWidth));
      }
      return weightedLasso(z, await score(z), weights, m, alpha);
    },
  );
}
