import { gaussianBlur } from '../../image/filters.js';
import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { softmaxRows } from '../common.js';
import { inBatches, resolveTargets, type AttributionOptions, type Target } from '../attribution/support.js';

/** Deletion removes the most important pixels first; insertion adds them first to a blurred copy. */
export type PerturbationMetric = 'deletion' | 'insertion';

/** Options of the deletion and insertion curves. */
export interface PerturbationOptions extends AttributionOptions {
  /** Steps from the first image to the last; default 100 (RISE takes 224 at 224×224: one row's worth of pixels each). */
  steps?: number;
  /** Blur of insertion's starting image in pixels; default 5, as RISE. */
  blurSigma?: number;
}

/** Deletion or insertion curves and their areas. */
export interface PerturbationResult {
  metric: PerturbationMetric;
  /** Per image, steps + 1 points: the softmax probability of its label after each step. */
  curves: number[][];
  /** Fraction of pixels changed at each point: 0, 1/steps, …, 1. */
  fractions: number[];
  /** Area under each curve (trapezoid rule over fractions 0..1): lower is better for deletion, higher for insertion. */
  auc: number[];
  labels: number[];
}

/** Pixel indices of an H×W map from its largest value to its smallest (ties by index). */
function descendingOrder(map: Float32Array): Uint32Array {
  const order = Uint32Array.from(map.keys());
  return order.sort((a, b) => map[b] - map[a] || a - b);
}

/** Area under a curve sampled evenly on [0, 1], by the trapezoid rule (RISE's `auc`). */
export function areaUnderCurve(curve: readonly number[]): number {
  const m = curve.length - 1;
  if (m < 1) throw new RangeError('areaUnderCurve: need at least 2 points');
  let sum = 0;
  for (const v of curve) sum += v;
  return (sum - curve[0] / 2 - curve[m] / 2) / m;
}

/**
 * Deletion and insertion curves (Petsiuk et al. 2018, RISE): pixels are changed in order of `maps` (N×H×W, largest
 * first), ⌈H·W / steps⌉ per step (default 100 steps), to the mean colour (deletion, from the image) or to the image
 * (insertion, from the image blurred with σ = 5 px), and the softmax probability of the target is recorded after each.
 * `target` defaults to the predicted class; perturbed images run in batches of `batchSize` (default 16).
 */
export async function perturbationCurves(
  classifier: Classifier,
  images: Tensor,
  maps: Tensor,
  metric: PerturbationMetric,
  target?: Target,
  { steps = 100, blurSigma = 5, batchSize = 16, onStep, signal }: PerturbationOptions = {},
): Promise<PerturbationResult> {
  const { labels } = await resolveTargets(classifier, images, target, batchSize, metric);
  const [n, c, h, w] = images.dims;
  if (maps.dims.join() !== [n, h, w].join())
    throw new Error(
      `${metric}: maps of dims [${maps.dims}], expected [${n}, ${h}, ${w}] (one H×W map per image)`,
    );
  if (!(Number.isInteger(steps) && steps > 0))
    throw new RangeError(`${metric}: steps ${steps}, expected a positive integer`);
  if (metric !== 'deletion' && metric !== 'insertion')
    throw new RangeError(`perturbationCurves: metric '${String(metric)}', expected deletion or insertion`);
  const plane = h * w;
  const per = c * plane;
  const perStep = Math.ceil(plane / steps);
  const orders = Array.from({ length: n }, (_, i) =>
    descendingOrder(maps.data.subarray(i * plane, (i + 1) * plane)),
  );
  // Deletion goes from the image to zeros (the mean colour); insertion from the blurred image to the image.
  const blurred = metric === 'insertion' ? gaussianBlur(images, blurSigma) : undefined;
  const curves = Array.from({ length: n }, () => new Array<number>(steps + 1).fill(0));
  let batch: Float32Array | undefined;
  await inBatches(n * (steps + 1), batchSize, { onStep, signal }, async (start, count, size) => {
    batch ??= new Float32Array(size * per);
    for (let r = 0; r < size; r++) {
      const j = start + Math.min(r, count - 1);
      const i = Math.floor(j / (steps + 1));
      const changed = Math.min(plane, (j % (steps + 1)) * perStep);
      const x = images.data.subarray(i * per, (i + 1) * per);
      const out = batch.subarray(r * per, (r + 1) * per);
      if (blurred) out.set(blurred.data.subarray(i * per, (i + 1) * per));
      else out.set(x);
      const order = orders[i];
      for (let q = 0; q < changed; q++) {
        const p = order[q];
        for (let ch = 0; ch < c; ch++) out[ch * plane + p] = blurred ? x[ch * plane + p] : 0;
      }
    }
    const logits = await classifier.logits({ data: batch, dims: [size, c, h, w] });
    const probs = softmaxRows(logits);
    const k = logits.dims[1];
    for (let r = 0; r < count; r++) {
      const j = start + r;
      const i = Math.floor(j / (steps + 1));
      curves[i][j % (steps + 1)] = probs[r * k + labels[i]];
    }
  });
  const fractions = Array.from({ length: steps + 1 }, (_, s) => Math.min(plane, s * perStep) / plane);
  return { metric, curves, fractions, auc: curves.map(areaUnderCurve), labels };
}
