import { localisationRows, metricOptions, ranks } from './support.js';
import type { MetricInput } from './types.js';

/** Options of AUC, with Quantus's defaults. */
export const aucDefaults = { abs: false, normalise: true };

/**
 * AUC (Fawcett 2006, "An introduction to ROC analysis"): the area under the ROC curve of the map's values (normalised
 * by the largest absolute value, by default) as scores of the mask's pixels against the rest: the probability that a
 * pixel inside scores above one outside, ties counting ½ (Mann-Whitney U / (n_in·n_out)). NaN for an empty or a full
 * mask. Higher is better. Returns one score per image; needs `masks`.
 */
export async function auc(
  input: Pick<MetricInput, 'maps' | 'images' | 'masks'>,
  options: Partial<typeof aucDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('auc', aucDefaults, options);
  return localisationRows('auc', input, o).rows.map(({ values, mask, inside }) => {
    const outside = values.length - inside;
    if (inside === 0 || outside === 0) return NaN;
    const r = ranks(values);
    let sum = 0;
    mask.forEach((m, f) => (sum += m ? r[f] : 0));
    return (sum - (inside * (inside + 1)) / 2) / (inside * outside);
  });
}
