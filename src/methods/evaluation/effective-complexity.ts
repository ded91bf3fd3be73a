import { metricOptions, prepareMaps } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Effective Complexity, with Quantus's defaults. */
export const effectiveComplexityDefaults = { eps: 1e-5, abs: true, normalise: true };

/**
 * Effective Complexity (Nguyen & Martínez 2020, "On quantitative aspects of model interpretability"): how many of a
 * map's values exceed `eps` (default 1e-5; absolute values of the map normalised by its largest, by default): the
 * features the explanation deems relevant; lower is simpler. Returns one count per image.
 */
export async function effectiveComplexity(
  input: Pick<MetricInput, 'maps' | 'images'>,
  options: Partial<typeof effectiveComplexityDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('effective-complexity', effectiveComplexityDefaults, options);
  const a = prepareMaps('effective-complexity', input.maps, input.images, o);
  return Array.from({ length: a.n }, (_, i) =>
    a.data.subarray(i * a.per, (i + 1) * a.per).reduce((count, v) => count + (v > o.eps ? 1 : 0), 0),
  );
}
