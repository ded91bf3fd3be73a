import { sensitivities, sensitivityDefaults } from './sensitivity.js';
import { nanMax } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Max-Sensitivity, with Quantus's defaults (and the paper's absolute norm). */
export const maxSensitivityDefaults = sensitivityDefaults;

/**
 * Max-Sensitivity (Yeh et al. 2019, "On the (in)fidelity and sensitivity of explanations"): the largest change
 * ‖Φ(x) − Φ(x')‖₂ of the map over `nrSamples` (default 200) copies x' of the image with uniform noise in
 * [−0.2, 0.2] on every value, the explanation method re-run on each copy. Lower is better; stochastic (`seed`). Quantus
 * divides each change by ‖Φ(x)‖₂, which the paper does not; `relative: true` does as Quantus. The copies are explained
 * in batches across images. Returns one score per image (NaN when every copy is left out).
 */
export async function maxSensitivity(
  input: MetricInput,
  options: Partial<typeof maxSensitivityDefaults> = {},
): Promise<number[]> {
  const rows = await sensitivities('max-sensitivity', input, options);
  return rows.map(nanMax);
}
