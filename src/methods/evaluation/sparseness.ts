import { metricOptions, prepareMaps } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Sparseness, with Quantus's defaults. */
export const sparsenessDefaults = { abs: true, normalise: true };

/**
 * Sparseness (Chalasani et al. 2020, "Concise explanations of neural networks using adversarial training"): the Gini
 * index of each map's values (absolute values of the map normalised by its largest, by default), sorted ascending
 * a₁ ≤ … ≤ a_d: Σₖ (2k − d − 1)·aₖ / (d·Σₖ aₖ). 0 for a constant map, 1 − 1/d for a one-hot map; higher is sparser.
 * Quantus adds 1e-7 to every value first (to avoid dividing by zero), which pulls a one-hot 224×224 map from
 * 0.99998 to 0.995; the paper's index has no such term and this follows it (an all-zero map scores 0).
 * Returns one score per image.
 */
export async function sparseness(
  input: Pick<MetricInput, 'maps' | 'images'>,
  options: Partial<typeof sparsenessDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('sparseness', sparsenessDefaults, options);
  const a = prepareMaps('sparseness', input.maps, input.images, o);
  return Array.from({ length: a.n }, (_, i) => {
    const v = Float64Array.from(a.data.subarray(i * a.per, (i + 1) * a.per)).sort();
    const d = v.length;
    let num = 0;
    let sum = 0;
    for (let k = 0; k < d; k++) {
      num += (2 * (k + 1) - d - 1) * v[k];
      sum += v[k];
    }
    return sum > 0 ? num / (d * sum) : 0;
  });
}
