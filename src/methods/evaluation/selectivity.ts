import { patchRemovalCurves } from './patches.js';
import { baselineDefaults, metricOptions, trapezoid } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Selectivity, with Quantus's defaults. */
export const selectivityDefaults = {
  patchSize: 8,
  ...baselineDefaults,
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
  const curves = (await patchRemovalCurves('selectivity', input, o)).map((curve) => curve.slice(1));
  return { curves, auc: curves.map(trapezoid) };
}

/** Selectivity's AUC per image (see `selectivityCurves`); lower is better. */
export async function selectivity(
  input: MetricInput,
  options: Partial<typeof selectivityDefaults> = {},
): Promise<number[]> {
  return (await selectivityCurves(input, options)).auc;
}
