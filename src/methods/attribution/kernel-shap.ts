import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { Random } from '../random.js';
import { featureMasks } from './feature-masks.js';
import { resolveTargets, type AttributionOptions, type AttributionResult, type Target } from './support.js';
import { switchedScores, weightedLeastSquares } from './surrogate.js';

/** Options of the surrogate-model methods (KernelSHAP, LIME). */
export interface SurrogateOptions extends AttributionOptions {
  /** Model runs per image, including KernelSHAP's two end points; default 500. */
  samples?: number;
  /** Features: 1×H×W or N×H×W integer labels; default SLIC superpixels (about 50 per image). */
  featureMask?: Tensor;
  /** Value a switched-off feature's pixels take, in normalised units; default 0 (the mean colour). */
  baseline?: number;
  /** Seed of the samples; default 0. Each image draws its own stream from it. */
  seed?: number;
}

/** Attributions per feature, painted on the features' pixels, and how they add up. */
export interface SurrogateResult extends AttributionResult {
  /** N×H×W: each pixel carries its feature's coefficient. */
  maps: Tensor;
  /** Number of features per image. */
  features: number[];
  /** Per image: the linear model's intercept. */
  intercepts: number[];
}

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
  {
    samples = 500,
    featureMask,
    baseline = 0,
    seed = 0,
    batchSize = 50,
    onStep,
    signal,
  }: SurrogateOptions = {},
): Promise<KernelShapResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, 'kernelShap');
  if (!(Number.isInteger(samples) && samples >= 3))
    throw new RangeError(`kernelShap: samples ${samples}, expected an integer ≥ 3`);
  const masks = featureMasks(images, classifier.preprocessing, featureMask);
  const [n, c, h, w] = images.dims;
  const pixels = h * w;
  const maps = new Float32Array(n * pixels);
  const result: KernelShapResult = {
    maps: { data: maps, dims: [n, h, w] },
    labels,
    scores,
    features: [],
    intercepts: [],
    baselineScores: [],
    gaps: [],
  };
  for (let i = 0; i < n; i++) {
    const mask = masks[i];
    const m = mask.count;
    const z = shapleySamples(m, samples, new Random(seed + i));
    const x = images.data.subarray(i * c * pixels, (i + 1) * c * pixels);
    const y = await switchedScores(classifier, x, [c, h, w], mask, labels[i], z, baseline, batchSize, {
      signal,
      progress: (rows) => onStep?.(i * samples + rows, n * samples),
    });
    const weights = new Float64Array(samples).fill(1);
    weights[0] = weights[1] = 1e6;
    const fit = weightedLeastSquares(z, y, weights, m);
    for (let p = 0; p < pixels; p++) maps[i * pixels + p] = fit.coef[mask.labels[p]];
    const sum = fit.coef.reduce((a, b) => a + b, 0);
    const delta = y[0] - y[1];
    result.features.push(m);
    result.intercepts.push(fit.intercept);
    result.baselineScores.push(y[1]);
    result.gaps.push((sum - delta) / delta);
  }
  return result;
}
