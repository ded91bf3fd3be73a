import { descending, localisationRows, metricOptions } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Relevance Rank Accuracy, with Quantus's defaults. */
export const relevanceRankAccuracyDefaults = { abs: false, normalise: true };

/**
 * Relevance Rank Accuracy (Arras et al. 2022, "CLEVR-XAI: a benchmark dataset for the ground truth evaluation of neural
 * network explanations"): with K the mask's size, the fraction of the map's K largest values (ties by position) that
 * lie inside the mask; NaN for an empty mask. Higher is better. Returns one score per image; needs `masks`.
 */
export async function relevanceRankAccuracy(
  input: Pick<MetricInput, 'maps' | 'images' | 'masks'>,
  options: Partial<typeof relevanceRankAccuracyDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('relevance-rank-accuracy', relevanceRankAccuracyDefaults, options);
  return localisationRows('relevance-rank-accuracy', input, o).rows.map(({ values, mask, inside }) => {
    if (inside === 0) return NaN;
    const top = descending(values).subarray(0, inside);
    return top.reduce((s, f) => s + mask[f], 0) / inside;
  });
}
