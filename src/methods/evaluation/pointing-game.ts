import { localisationRows, metricOptions } from './support.js';
import type { MetricInput } from './types.js';

/** Options of the Pointing Game, with Quantus's defaults. */
export const pointingGameDefaults = { abs: false, normalise: true };

/**
 * Pointing Game (Zhang et al. 2018, "Top-down neural attention by excitation backprop"): 1 when a largest value of the
 * map (normalised by its largest absolute value, by default) lies inside the object's mask, else 0; NaN for an empty
 * mask. The paper allows a 15-pixel tolerance around the mask; Quantus allows none, and neither does this.
 * Returns one score per image; needs `masks`.
 */
export async function pointingGame(
  input: Pick<MetricInput, 'maps' | 'images' | 'masks'>,
  options: Partial<typeof pointingGameDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('pointing-game', pointingGameDefaults, options);
  return localisationRows('pointing-game', input, o).rows.map(({ values, mask, inside }) => {
    if (inside === 0) return NaN;
    const max = values.reduce((m, v) => Math.max(m, v), -Infinity);
    return values.some((v, f) => v === max && mask[f] === 1) ? 1 : 0;
  });
}
