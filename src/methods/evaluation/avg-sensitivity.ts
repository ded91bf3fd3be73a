import { sensitivities, sensitivityDefaults } from './sensitivity.js';
import { nanMean } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Avg-Sensitivity, with Quantus's defaults (and the paper's absolute norm). */
export const avgSensitivityDefaults = sensitivityDefaults;

/**
 * Avg-Sensitivity (Yeh et al. 2019, "On the (in)fidelity and sensitivity of explanations"): the mean change
 * ‖Φ(x) − Φ(x')‖₂ of the map over `nrSamples` (default 200) copies x' of the image with uniform noise in [−0.2, 0.2]
 * on every value, the explanation method re-run on each copy. Lower is better; stochastic (`seed`). Quantus divides
 * each change by ‖Φ(x)‖₂, which the paper does not; `relative: true` does as Quantus. Returns one score per image
 * (NaN when every copy is left out).
 */
export async function avgSensitivity(
  input: MetricInput,
  options: Partial<typeof avgSensitivityDefaults> = {},
): Promise<number[]> {
  const rows = await sensitivities('avg-sensitivity', input, options);
  return rows.map(nanMean);
}
