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
} from './support.js';
import type { MetricInput } from './types.js';

/** Options of Region Perturbation, with Quantus's defaults. */
export const regionPerturbationDefaults = {
  patchSize: 8,
  /** How many regions to perturb, most relevant first. */
  regionsEvaluation: 100,
  perturbBaseline: 'black',
  abs: false,
  normalise: true,
  softmax: true,
  /** Seed of the 'uniform' baseline's draws. */
  seed: 0,
};

/** Region Perturbation curves and their AOPC. */
export interface RegionPerturbationResult {
  /** Per image, one point per perturbed region: f(x) − f(x after k regions), f the label's score. */
  curves: number[][];
  /** Per image, the area over the perturbation curve: the mean of the drops for k = 0 … L. */
  aopc: number[];
}

/**
 * Region Perturbation (Samek et al. 2017, "Evaluating the visualization of what a deep neural network has learned"),
 * most relevant first: the image, edge-padded to multiples of `patchSize` (default 8), is cut into patches; they are
 * ranked by the sum of the map over them (zero-padded) and the first `regionsEvaluation` (default 100) replaced one
 * after another by the baseline (default 'black': the smallest value) in all channels, recording the drop of the
 * label's softmax probability (or logit) after each. The score is the paper's AOPC, (1/(L+1)) Σₖ₌₀..L (f(x) − f(xₖ)):
 * the faster the score falls, the better the map, so higher is better. Quantus returns the curves and calls lower
 * better; its AUC helper sums the drops with the trapezoid rule, which ranks maps the same way as the paper's mean.
 */
export async function regionPerturbationCurves(
  input: MetricInput,
  options: Partial<typeof regionPerturbationDefaults> = {},
): Promise<RegionPerturbationResult> {
  const o = metricOptions('region-perturbation', regionPerturbationDefaults, options);
  const a = prepareMaps('region-perturbation', input.maps, input.images, o);
  const [n, c, h, w] = input.images.dims;
  checkInteger('region-perturbation', 'patchSize', o.patchSize, 1, Math.min(h, w));
  checkInteger('region-perturbation', 'regionsEvaluation', o.regionsEvaluation, 1);
  const grid = patchGrid(h, w, o.patchSize);
  const orders = patchOrder(a, c, grid);
  const steps = Math.min(o.regionsEvaluation, grid.patches.length);
  const per = c * h * w;
  const padded = grid.height * grid.width;
  const random = new Random(o.seed);
  const { scores: original } = await scoreCopies(
    { ...input, onStep: undefined },
    n,
    (i, out) => out.set(input.images.data.subarray(i * per, (i + 1) * per)),
    (i) => input.labels[i],
    o,
  );
  let state: Float32Array = new Float32Array();
  const { scores } = await scoreCopies(
    input,
    n * steps,
    (j, out) => {
      const i = Math.floor(j / steps);
      const s = j % steps;
      if (s === 0) state = padEdge(input.images.data.subarray(i * per, (i + 1) * per), c, h, w, grid);
      const v = baselineValue('region-perturbation', o.perturbBaseline, state, random);
      for (const q of grid.patches[orders[i][s]]) for (let ch = 0; ch < c; ch++) state[ch * padded + q] = v;
      cropPadded(state, c, h, w, grid, out);
    },
    (j) => input.labels[Math.floor(j / steps)],
    o,
  );
  const curves = Array.from({ length: n }, (_, i) =>
    Array.from(scores.subarray(i * steps, (i + 1) * steps), (v) => original[i] - v),
  );
  return { curves, aopc: curves.map((curve) => curve.reduce((s, v) => s + v, 0) / (curve.length + 1)) };
}

/** Region Perturbation's AOPC per image (see `regionPerturbationCurves`); higher is better. */
export async function regionPerturbation(
  input: MetricInput,
  options: Partial<typeof regionPerturbationDefaults> = {},
): Promise<number[]> {
  return (await regionPerturbationCurves(input, options)).aopc;
}
