// Patches of an image for Region Perturbation and Selectivity, and the curve of removing them in turn.
import { Random } from '../random.js';
import {
  baselineValue,
  baselineDefaults,
  checkInteger,
  descending,
  prepareMaps,
  scoreCopies,
  type Attributions,
} from './support.js';
import type { MetricInput } from './types.js';

/** The image split into `patchSize`² patches, as Quantus's Region Perturbation and Selectivity split it. */
interface PatchGrid {
  /** Padding (top, bottom, left, right) that makes the sides multiples of the patch size, split as evenly as can be. */
  pad: [number, number, number, number];
  /** Padded height and width. */
  height: number;
  width: number;
  /** Per patch (row by row), its pixel indices in the padded plane. */
  patches: Uint32Array[];
}

/** Patches of `patchSize` over an h×w image padded to multiples of it (Quantus's `get_padding_size`, `get_block_indices`). */
function patchGrid(h: number, w: number, patchSize: number): PatchGrid {
  const split = (dim: number): [number, number] => {
    const rest = dim % patchSize;
    const total = rest === 0 ? 0 : patchSize - rest;
    return [Math.floor(total / 2), Math.ceil(total / 2)];
  };
  const [top, bottom] = split(h);
  const [left, right] = split(w);
  const height = h + top + bottom;
  const width = w + left + right;
  const patches: Uint32Array[] = [];
  for (let by = 0; by < height; by += patchSize)
    for (let bx = 0; bx < width; bx += patchSize) {
      const p = new Uint32Array(patchSize * patchSize);
      for (let y = 0; y < patchSize; y++)
        for (let x = 0; x < patchSize; x++) p[y * patchSize + x] = (by + y) * width + bx + x;
      patches.push(p);
    }
  return { pad: [top, bottom, left, right], height, width, patches };
}

/** C×h×w values padded as `grid` says, by repeating the edge values (numpy's 'edge' mode). */
function padEdge(x: Float32Array, channels: number, h: number, w: number, grid: PatchGrid): Float32Array {
  const [top, , left] = grid.pad;
  const out = new Float32Array(channels * grid.height * grid.width);
  for (let c = 0; c < channels; c++)
    for (let y = 0; y < grid.height; y++) {
      const sy = Math.min(h - 1, Math.max(0, y - top));
      for (let xx = 0; xx < grid.width; xx++) {
        const sx = Math.min(w - 1, Math.max(0, xx - left));
        out[(c * grid.height + y) * grid.width + xx] = x[(c * h + sy) * w + sx];
      }
    }
  return out;
}

/** The h×w crop of padded C×H'×W' values (inverse of the padding). */
function cropPadded(
  padded: Float32Array,
  channels: number,
  h: number,
  w: number,
  grid: PatchGrid,
  out: Float32Array,
): void {
  const [top, , left] = grid.pad;
  for (let c = 0; c < channels; c++)
    for (let y = 0; y < h; y++) {
      const from = (c * grid.height + y + top) * grid.width + left;
      out.set(padded.subarray(from, from + w), (c * h + y) * w);
    }
}

/**
 * Per image, the patches of `grid` from the largest sum of attributions to the smallest (ties by position), the maps
 * zero-padded and counted once per image channel as Quantus broadcasts them.
 */
function patchOrder(a: Attributions, channels: number, grid: PatchGrid): Uint32Array[] {
  const [top, , left] = grid.pad;
  const repeat = a.channels === 1 ? channels : 1;
  return Array.from({ length: a.n }, (_, i) => {
    const plane = new Float64Array(grid.height * grid.width);
    for (let c = 0; c < a.channels; c++)
      for (let y = 0; y < a.height; y++)
        for (let x = 0; x < a.width; x++)
          plane[(y + top) * grid.width + x + left] +=
            repeat * a.data[i * a.per + (c * a.height + y) * a.width + x];
    return descending(grid.patches.map((p) => p.reduce((s, q) => s + plane[q], 0)));
  });
}

/**
 * Per image, the label's softmax probability (or logit) on the image and then after each of the first `limit` patches
 * of `patchSize` (ranked by the map, most relevant first) is set to the baseline in all channels, cumulatively: the
 * image edge-padded to multiples of the patch size, the baseline taken from the padded image as perturbed so far.
 * Model runs are batched across images.
 */
export async function patchRemovalCurves(
  metric: string,
  input: MetricInput,
  o: typeof baselineDefaults & { patchSize: number },
  limit = Infinity,
): Promise<number[][]> {
  const a = prepareMaps(metric, input.maps, input.images, o);
  const [n, c, h, w] = input.images.dims;
  checkInteger(metric, 'patchSize', o.patchSize, 1, Math.min(h, w));
  const grid = patchGrid(h, w, o.patchSize);
  const orders = patchOrder(a, c, grid);
  const steps = Math.min(limit, grid.patches.length) + 1;
  const per = c * h * w;
  const padded = grid.height * grid.width;
  const random = new Random(o.seed);
  let state: Float32Array = new Float32Array();
  const { scores } = await scoreCopies(
    input,
    n * steps,
    (j, out) => {
      const i = Math.floor(j / steps);
      const s = j % steps;
      if (s === 0) {
        state = padEdge(input.images.data.subarray(i * per, (i + 1) * per), c, h, w, grid);
        out.set(input.images.data.subarray(i * per, (i + 1) * per));
        return;
      }
      const v = baselineValue(metric, o.perturbBaseline, state, random);
      for (const q of grid.patches[orders[i][s - 1]])
        for (let ch = 0; ch < c; ch++) state[ch * padded + q] = v;
      cropPadded(state, c, h, w, grid, out);
    },
    (j) => input.labels[Math.floor(j / steps)],
    o,
  );
  return Array.from({ length: n }, (_, i) => Array.from(scores.subarray(i * steps, (i + 1) * steps)));
}
