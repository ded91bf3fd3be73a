import { Random } from '../random.js';
import {
  baselineValue,
  checkInteger,
  cropPadded,
  metricOptions,
  padEdge,
  patchGrid,
  patchOrder,
  prepareMaps,
  scoreCopies,
  trapezoid,
} from './support.js';
import type { MetricInput } from './types.js';

/** Options of Selectivity, with Quantus's defaults. */
export const selectivityDefaults = {
  patchSize: 8,
  perturbBaseline: 'black',
  abs: false,
  normalise: true,
  softmax: true,
  /** Seed of the 'uniform' baseline's draws. */
  seed: 0,
};

/** Selectivity curves and their areas. */
export interface SelectivityResult {
  /** Per image, one point per patch: the label's score after removing that many patches. */
  curves: number[][];
  /** Per image, the area under its curve by the trapezoid rule with unit spacing. */
  auc: number[];
}

/**
 * Selectivity (Montavon et al. 2018, "Methods for interpreting and understanding deep neural networks"): the image,
 * edge-padded to multiples of `patchSize` (default 8), is cut into patches, ranked by the sum of the map over them
 * (zero-padded); all of them are removed, most relevant first, by setting them to the baseline (default 'black': the
 * smallest value) in all channels, and the label's softmax probability (or logit) recorded after each. A selective
 * map makes the score drop fast: lower AUC is better.
 */
export async function selectivityCurves(
  input: MetricInput,
  options: Partial<typeof selectivityDefaults> = {},
): Promise<SelectivityResult> {
  const o = metricOptions('selectivity', selectivityDefaults, options);
  const a = prepareMaps('selectivity', input.maps, input.images, o);
  const [n, c, h, w] = input.images.dims;
  checkInteger('selectivity', 'patchSize', o.patchSize, 1, Math.min(h, w));
  const grid = patchGrid(h, w, o.patchSize);
  const orders = patchOrder(a, c, grid);
  const steps = grid.patches.length;
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
      if (s === 0) state = padEdge(input.images.data.subarray(i * per, (i + 1) * per), c, h, w, grid);
      const v = baselineValue('selectivity', o.perturbBaseline, state, random);
      for (const q of grid.patches[orders[i][s]]) for (let ch = 0; ch < c; ch++) state[ch * padded + q] = v;
      cropPadded(state, c, h, w, grid, out);
    },
    (j) => input.labels[Math.floor(j / steps)],
    o,
  );
  const curves = Array.from({ length: n }, (_, i) => Array.from(scores.subarray(i * steps, (i + 1) * steps)));
  return { curves, auc: curves.map(trapezoid) };
}

/** Selectivity's AUC per image (see `selectivityCurves`); lower is better. */
export async function selectivity(
  input: MetricInput,
  options: Partial<typeof selectivityDefaults> = {},
): Promise<number[]> {
  return (await selectivityCurves(input, options)).auc;
}
