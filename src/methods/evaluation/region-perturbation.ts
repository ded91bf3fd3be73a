import { patchRemovalCurves } from './patches.js';
import { baselineDefaults, checkInteger, metricOptions } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Region Perturbation, with Quantus's defaults. */
export const regionPerturbationDefaults = {
  patchSize: 8,
  /** How many regions to perturb, most relevant first. */
  regionsEvaluation: 100,
  ...baselineDefaults,
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
  checkInteger('region-perturbation', 'regionsEvaluation', o.regionsEvaluation, 1);
  const scores = await patchRemovalCurves('region-perturbation', input, o, o.regionsEvaluation);
  const curves = scores.map(([original, ...after]) => after.map((v) => original - v));
  return { curves, aopc: curves.map((curve) => curve.reduce((s, v) => s + v, 0) / (curve.length + 1)) };
}

/** Region Perturbation's AOPC per image (see `regionPerturbationCurves`); higher is better. */
export async function regionPerturbation(
  input: MetricInput,
  options: Partial<typeof regionPerturbationDefaults> = {},
): Promise<number[]> {
  return (await regionPerturbationCurves(input, options)).aopc;
}
