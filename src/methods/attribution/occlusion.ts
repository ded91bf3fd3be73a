import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { OptionError } from '../common.js';
import {
  inBatches,
  resolveTargets,
  type AttributionOptions,
  type AttributionResult,
  type Target,
} from './support.js';

/** Occlusion's options. */
export interface OcclusionOptions extends AttributionOptions {
  /** Side of the square occluder in pixels; default 32. */
  window?: number;
  /** Pixels between occluder positions; default 16 (the last row and column of positions touch the edges). */
  stride?: number;
  /** Value the occluder sets every channel to, in normalised units; default 0, the mean colour (a grey square). */
  value?: number;
}

/** Occlusion maps and the occluder used. */
export interface OcclusionResult extends AttributionResult {
  /** N×H×W: per pixel, the mean drop of the target's logit over the occluder positions covering it. */
  maps: Tensor;
  /** Occluder positions per image. */
  positions: number;
}

/** Window offsets along an axis of `size`: 0, stride, 2·stride, … and a last one flush with the end. */
function offsets(size: number, window: number, stride: number): number[] {
  const out: number[] = [];
  for (let o = 0; o + window < size; o += stride) out.push(o);
  out.push(size - window);
  return out;
}

/**
 * Occlusion (Zeiler & Fergus 2014): slide a `window`×`window` square (default 32 px) of `value` (default 0, the mean
 * colour) over each image with `stride` (default 16 px) and record how much the target's logit drops; each pixel gets
 * the mean drop over the positions covering it (as Captum). N×H×W, positive where hiding the pixels lowers the score.
 * Forward passes only; occluded copies run in batches of `batchSize` (default 16). Throws an OptionError for a window
 * larger than the image.
 */
export async function occlusion(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { window = 32, stride = 16, value = 0, batchSize = 16, onStep, signal }: OcclusionOptions = {},
): Promise<OcclusionResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, 'occlusion');
  const [n, c, h, w] = images.dims;
  if (!(Number.isInteger(window) && window > 0 && window <= Math.min(h, w)))
    throw new OptionError(`occlusion: window ${window}, expected an integer from 1 to ${Math.min(h, w)}`);
  if (!(Number.isInteger(stride) && stride > 0))
    throw new RangeError(`occlusion: stride ${stride}, expected a positive integer`);
  const ys = offsets(h, window, stride);
  const xs = offsets(w, window, stride);
  const positions = ys.length * xs.length;
  const plane = h * w;
  const per = c * plane;
  const sums = new Float64Array(n * plane);
  const counts = new Float64Array(plane);
  for (const y0 of ys)
    for (const x0 of xs)
      for (let y = y0; y < y0 + window; y++) for (let x = x0; x < x0 + window; x++) counts[y * w + x]++;
  let batch: Float32Array | undefined;
  await inBatches(n * positions, batchSize, { onStep, signal }, async (start, count, size) => {
    batch ??= new Float32Array(size * per);
    for (let r = 0; r < size; r++) {
      const j = start + Math.min(r, count - 1);
      const i = Math.floor(j / positions);
      const y0 = ys[Math.floor((j % positions) / xs.length)];
      const x0 = xs[j % xs.length];
      batch.set(images.data.subarray(i * per, (i + 1) * per), r * per);
      for (let ch = 0; ch < c; ch++)
        for (let y = y0; y < y0 + window; y++) {
          const row = r * per + ch * plane + y * w;
          batch.fill(value, row + x0, row + x0 + window);
        }
    }
    const logits = await classifier.logits({ data: batch, dims: [size, c, h, w] });
    const k = logits.dims[1];
    for (let r = 0; r < count; r++) {
      const j = start + r;
      const i = Math.floor(j / positions);
      const y0 = ys[Math.floor((j % positions) / xs.length)];
      const x0 = xs[j % xs.length];
      const drop = scores[i] - logits.data[r * k + labels[i]];
      for (let y = y0; y < y0 + window; y++)
        for (let x = x0; x < x0 + window; x++) sums[i * plane + y * w + x] += drop;
    }
  });
  const data = new Float32Array(n * plane);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < plane; p++) data[i * plane + p] = sums[i * plane + p] / counts[p];
  return { maps: { data, dims: [n, h, w] }, labels, scores, positions };
}
