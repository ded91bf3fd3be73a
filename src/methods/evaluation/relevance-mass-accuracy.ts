import { localisationRows, metricOptions } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Relevance Mass Accuracy, with Quantus's defaults. */
export const relevanceMassAccuracyDefaults = { abs: false, normalise: true };

/**
 * Relevance Mass Accuracy (Arras et al. 2022, "CLEVR-XAI: a benchmark dataset for the ground truth evaluation of neural
 * network explanations"): the relevance inside the object's mask over the total relevance of the map (normalised by
 * its largest absolute value, by default), R_within / R_total; NaN for an empty mask. Higher is better.
 * Returns one score per image; needs `masks`.
 */
export async function relevanceMassAccuracy(
  input: Pick<MetricInput, 'maps' | 'images' | 'masks'>,
  options: Partial<typeof relevanceMassAccuracyDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('relevance-mass-accuracy', relevanceMassAccuracyDefaults, options);
  return localisationRows('relevance-mass-accuracy', input, o).rows.map(({ values, mask, inside }) => {
    let within = 0;
    let total = 0;
    values.forEach((v, f) => {
      total += v;
      if (mask[f]) within += v;
    });
    return inside === 0 ? NaN : within / total;
  });
}
