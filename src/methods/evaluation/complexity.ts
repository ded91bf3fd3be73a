import { metricOptions, prepareMaps } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Complexity, with Quantus's defaults. */
export const complexityDefaults = { abs: true, normalise: true };

/**
 * Complexity (Bhatt et al. 2020, "Evaluating and aggregating feature-based model explanations"): the Shannon entropy
 * (natural log) of each map's fractional contributions pᵢ = |aᵢ| / Σⱼ |aⱼ| (absolute values of the map normalised
 * by its largest, by default): −Σᵢ pᵢ ln pᵢ, with 0 ln 0 = 0. 0 for a one-hot map, ln d for a constant one; lower is
 * simpler. NaN for an all-zero map. Returns one score per image.
 */
export async function complexity(
  input: Pick<MetricInput, 'maps' | 'images'>,
  options: Partial<typeof complexityDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('complexity', complexityDefaults, options);
  const a = prepareMaps('complexity', input.maps, input.images, o);
  return Array.from({ length: a.n }, (_, i) => {
    const row = a.data.subarray(i * a.per, (i + 1) * a.per);
    let sum = 0;
    for (const v of row) sum += Math.abs(v);
    let h = 0;
    for (const v of row) {
      const p = Math.abs(v) / sum;
      if (p > 0) h -= p * Math.log(p);
    }
    return sum > 0 ? h : NaN;
  });
}
