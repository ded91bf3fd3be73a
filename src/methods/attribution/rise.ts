import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { softmaxRows } from '../common.js';
import { Random } from '../random.js';
import { resolveTargets, type AttributionOptions, type AttributionResult, type Target } from './support.js';
import { bilinearAxis } from './upsample.js';

/** RISE's options (the paper's N, s and p₁). */
export interface RiseOptions extends AttributionOptions {
  /** N: random masks per image; default 4000. */
  masks?: number;
  /** s: cells per side of a mask's coarse grid; default 7. */
  grid?: number;
  /** p₁: probability that a grid cell keeps the image; default 0.5. */
  keepProbability?: number;
  /** Seed of the masks; default 0. Each image draws its own stream from it. */
  seed?: number;
}

/**
 * RISE (Petsiuk et al. 2018): N = `masks` (default 4000) random masks, each an s×s grid (`grid`, default 7) of cells
 * kept with probability p₁ (`keepProbability`, default 0.5), upsampled bilinearly to (s + 1)·⌈H/s⌉ and cropped at a
 * random shift of less than one cell, multiply the image (in normalised units, so hidden pixels take the mean colour);
 * the saliency is Σ_i P_i M_i / (N p₁) with P_i the softmax probability of the target on masked image i. N×H×W,
 * non-negative. Seeded (`seed`, default 0); masked images run in batches of `batchSize` (default 50); `onStep` counts
 * masks.
 */
export async function rise(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  {
    masks = 4000,
    grid = 7,
    keepProbability = 0.5,
    seed = 0,
    batchSize = 50,
    onStep,
    signal,
  }: RiseOptions = {},
): Promise<AttributionResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, 'rise');
  if (!(Number.isInteger(masks) && masks > 0))
    throw new RangeError(`rise: masks ${masks}, expected a positive integer`);
  if (!(Number.isInteger(grid) && grid > 0))
    throw new RangeError(`rise: grid ${grid}, expected a positive integer`);
  if (!(keepProbability > 0 && keepProbability <= 1))
    throw new RangeError(`rise: keepProbability ${keepProbability}, expected a number in (0, 1]`);
  const [n, c, h, w] = images.dims;
  const pixels = h * w;
  const per = c * pixels;
  const cellH = Math.ceil(h / grid);
  const cellW = Math.ceil(w / grid);
  // Bilinear weights from the s×s grid to the (s + 1)·cell canvas; a mask is a window of it at a random shift.
  const ys = bilinearAxis(grid, (grid + 1) * cellH, false);
  const xs = bilinearAxis(grid, (grid + 1) * cellW, false);
  const maps = new Float32Array(n * pixels);
  const size = Math.min(batchSize, masks);
  const batch = new Float32Array(size * per);
  const maskBatch = new Float32Array(size * pixels);
  const cells = new Float32Array(grid * grid);
  for (let i = 0; i < n; i++) {
    const random = new Random(seed + i);
    const x = images.data.subarray(i * per, (i + 1) * per);
    const saliency = new Float64Array(pixels);
    for (let start = 0; start < masks; start += size) {
      signal?.throwIfAborted();
      const count = Math.min(size, masks - start);
      for (let r = 0; r < count; r++) {
        for (let k = 0; k < cells.length; k++) cells[k] = random.next() < keepProbability ? 1 : 0;
        const dy = Math.floor(random.next() * cellH);
        const dx = Math.floor(random.next() * cellW);
        const mask = maskBatch.subarray(r * pixels, (r + 1) * pixels);
        for (let y = 0; y < h; y++) {
          const y0 = ys.lo[y + dy] * grid;
          const y1 = ys.hi[y + dy] * grid;
          const ty = ys.t[y + dy];
          for (let xx = 0; xx < w; xx++) {
            const lo = xs.lo[xx + dx];
            const hi = xs.hi[xx + dx];
            const tx = xs.t[xx + dx];
            const top = cells[y0 + lo] * (1 - tx) + cells[y0 + hi] * tx;
            const bottom = cells[y1 + lo] * (1 - tx) + cells[y1 + hi] * tx;
            mask[y * w + xx] = top * (1 - ty) + bottom * ty;
          }
        }
        for (let ch = 0; ch < c; ch++) {
          const out = r * per + ch * pixels;
          for (let p = 0; p < pixels; p++) batch[out + p] = x[ch * pixels + p] * mask[p];
        }
      }
      const logits = await classifier.logits({
        data: batch.subarray(0, count * per),
        dims: [count, c, h, w],
      });
      const probabilities = softmaxRows(logits);
      const classes = logits.dims[1];
      for (let r = 0; r < count; r++) {
        const pr = probabilities[r * classes + labels[i]];
        const mask = maskBatch.subarray(r * pixels, (r + 1) * pixels);
        for (let p = 0; p < pixels; p++) saliency[p] += pr * mask[p];
      }
      onStep?.(i * masks + start + count, n * masks);
    }
    const norm = masks * keepProbability;
    for (let p = 0; p < pixels; p++) maps[i * pixels + p] = saliency[p] / norm;
  }
  return { maps: { data: maps, dims: [n, h, w] }, labels, scores };
}
