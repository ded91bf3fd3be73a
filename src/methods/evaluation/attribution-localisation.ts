import { localisationRows, metricOptions } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Attribution Localisation, with Quantus's defaults. */
export const attributionLocalisationDefaults = { abs: true, normalise: true };

/**
 * Attribution Localisation (Kohlbrenner et al. 2020, "Towards best practice in explaining neural network decisions
 * with LRP"): the share of the map's total attribution (absolute values normalised by the largest, by default) that
 * falls inside the object's mask, Σ_in a / (Σ a + 1e-9); NaN for an empty mask, or a share above 1 (possible only
 * with signed maps). Higher is better. Returns one score per image; needs `masks`.
 */
export async function attributionLocalisation(
  input: Pick<MetricInput, 'maps' | 'images' | 'masks'>,
  options: Partial<typeof attributionLocalisationDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('attribution-localisation', attributionLocalisationDefaults, options);
  return localisationRows('attribution-localisation', input, o).rows.map(({ values, mask, inside }) => {
    let within = 0;
    let total = 0;
    values.forEach((v, f) => {
      total += v;
      if (mask[f]) within += v;
    });
    const share = within / (total + 1e-9);
    return inside === 0 || share > 1 ? NaN : share;
  });
}
