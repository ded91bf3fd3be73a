import { checkInteger, descending, localisationRows, metricOptions } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Top-K Intersection, with Quantus's defaults. */
export const topKIntersectionDefaults = { k: 1000, abs: false, normalise: true };

/**
 * Top-K Intersection (Theiner et al. 2022, "Interpretable semantic photo geolocation"): the fraction of the map's `k`
 * largest values (default 1000; ties by position) that lie inside the object's mask; NaN for an empty mask. Higher is
 * better. Returns one score per image; needs `masks`.
 */
export async function topKIntersection(
  input: Pick<MetricInput, 'maps' | 'images' | 'masks'>,
  options: Partial<typeof topKIntersectionDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('top-k-intersection', topKIntersectionDefaults, options);
  const { a, rows } = localisationRows('top-k-intersection', input, o);
  checkInteger('top-k-intersection', 'k', o.k, 1, a.per);
  return rows.map(({ values, mask, inside }) => {
    if (inside === 0) return NaN;
    const top = descending(values).subarray(0, o.k);
    return top.reduce((s, f) => s + mask[f], 0) / o.k;
  });
}
