import type { Classifier } from '../../model/classifier.js';
import { sliceBatch, type Tensor } from '../../tensor.js';
import { Random } from '../random.js';
import {
  gradientsAt,
  resolveTargets,
  type AttributionOptions,
  type AttributionResult,
  type Target,
} from './support.js';

/** GradientSHAP's options. */
export interface GradientShapOptions extends AttributionOptions {
  /** Gradient samples per image; default 50. */
  samples?: number;
  /**
   * The baseline distribution: K×3×H×W images in normalised units, drawn uniformly; default a black and a white image
   * (K = 2).
   */
  baselines?: Tensor;
  /** Seed of the draws; default 0. Each image draws its own stream from it. */
  seed?: number;
}

/** GradientSHAP attributions and what they add up to in expectation. */
export interface GradientShapResult extends AttributionResult {
  /** Per image: the mean over the drawn baselines b of f(x) − f(b), which Σ attributions estimates. */
  expectedDeltas: number[];
}

/** A black and a white image in normalised units (2×3×H×W). */
export function blackAndWhite(classifier: Classifier, h: number, w: number): Tensor {
  const { mean, std } = classifier.preprocessing;
  const plane = h * w;
  const data = new Float32Array(2 * 3 * plane);
  for (let k = 0; k < 2; k++)
    for (let ch = 0; ch < 3; ch++)
      data.fill((k - mean[ch]) / std[ch], (k * 3 + ch) * plane, (k * 3 + ch + 1) * plane);
  return { data, dims: [2, 3, h, w] };
}

/**
 * GradientSHAP (Lundberg & Lee 2017) as Captum's `GradientShap` (no input noise): for each of `samples` (default 50)
 * draws of a baseline b from `baselines` (default black and white) and α ~ U(0, 1), the input gradient of the target's
 * logit at b + α(x − b) times (x − b); the mean over draws. N×3×H×W, signed; Σ attributions estimates E_b[f(x) −
 * f(b)] (`expectedDeltas`). Seeded (`seed`, default 0); points run in batches of `batchSize` (default 5).
 */
export async function gradientShap(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { samples = 50, baselines, seed = 0, batchSize = 5, onStep, signal }: GradientShapOptions = {},
): Promise<GradientShapResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, 'gradientShap');
  if (!(Number.isInteger(samples) && samples > 0))
    throw new RangeError(`gradientShap: samples ${samples}, expected a positive integer`);
  const [n, c, h, w] = images.dims;
  const per = c * h * w;
  const pool = baselines ?? blackAndWhite(classifier, h, w);
  if (pool.dims.length !== 4 || pool.dims.slice(1).join() !== [c, h, w].join())
    throw new RangeError(`gradientShap: baselines dims [${pool.dims}], expected [K, ${c}, ${h}, ${w}]`);
  const poolScores: number[][] = [];
  for (let k = 0; k < pool.dims[0]; k++) {
    const logits = await classifier.logits(sliceBatch(pool, k));
    poolScores.push(labels.map((l) => logits.data[l]));
  }
  // Per image and sample: the baseline drawn and α.
  const draws = labels.map((_, i) => {
    const random = new Random(seed + i);
    return Array.from({ length: samples }, () => ({
      k: Math.floor(random.next() * pool.dims[0]),
      alpha: random.next(),
    }));
  });
  const total = new Float64Array(images.data.length);
  // Draw j of image i: its image, the baseline drawn and α.
  const draw = (j: number) => {
    const i = Math.floor(j / samples);
    const { k, alpha } = draws[i][j % samples];
    const x = images.data.subarray(i * per, (i + 1) * per);
    return { i, alpha, x, b: pool.data.subarray(k * per, (k + 1) * per) };
  };
  await gradientsAt(
    classifier,
    images.dims,
    n * samples,
    (j, out) => {
      const { i, alpha, x, b } = draw(j);
      for (let p = 0; p < per; p++) out[p] = b[p] + alpha * (x[p] - b[p]);
      return labels[i];
    },
    (j, g) => {
      const { i, x, b } = draw(j);
      for (let p = 0; p < per; p++) total[i * per + p] += g[p] * (x[p] - b[p]);
    },
    { batchSize, onStep, signal },
  );
  const maps = Float32Array.from(total, (v) => v / samples);
  const expectedDeltas = draws.map(
    (d, i) => d.reduce((s, { k }) => s + scores[i] - poolScores[k][i], 0) / samples,
  );
  return { maps: { data: maps, dims: [...images.dims] }, labels, scores, expectedDeltas };
}
