// What Max-Sensitivity and Avg-Sensitivity share: sensitivities of a map to uniform noise on the input.
import { Random } from '../random.js';
import { checkInteger, explainCopies, metricOptions, prepareMaps } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Max-Sensitivity and Avg-Sensitivity, with Quantus's defaults. */
export const sensitivityDefaults = {
  /** Noisy copies per image. */
  nrSamples: 200,
  /** Noise is U(−lowerBound, lowerBound) per value, or U(lowerBound, upperBound) when upperBound is set. */
  lowerBound: 0.2,
  upperBound: null as number | null,
  /** Divide by the map's norm ‖Φ(x)‖, as Quantus does by default; the paper does not. */
  relative: false,
  /** Leave out copies whose predicted class differs from the image's. */
  returnNanWhenPredictionChanges: false,
  abs: false,
  normalise: false,
  /** Seed of the noise. */
  seed: 0,
};

/**
 * Per image, the sensitivity ‖Φ(x) − Φ(x')‖₂ (over ‖Φ(x)‖₂ with `relative`) for `nrSamples` noisy copies x' of x,
 * NaN for copies whose prediction changed when those are left out.
 */
export async function sensitivities(
  metric: string,
  input: MetricInput,
  options: Partial<typeof sensitivityDefaults>,
): Promise<Float64Array[]> {
  const o = metricOptions(metric, sensitivityDefaults, options);
  checkInteger(metric, 'nrSamples', o.nrSamples, 1);
  const a = prepareMaps(metric, input.maps, input.images, o);
  const random = new Random(o.seed);
  const [low, high] = o.upperBound === null ? [-o.lowerBound, o.lowerBound] : [o.lowerBound, o.upperBound];
  const out = Array.from({ length: a.n }, () => new Float64Array(o.nrSamples));
  await explainCopies(
    metric,
    input,
    o.nrSamples,
    o,
    (_i, x, copy) => {
      for (let f = 0; f < x.length; f++) copy[f] = x[f] + low + (high - low) * random.next();
    },
    (i, s, _copy, map, changed) => {
      if (map.length !== a.per)
        throw new Error(`${metric}: explain gave ${map.length} values per image, the maps ${a.per}`);
      const row = a.data.subarray(i * a.per, (i + 1) * a.per);
      let diff = 0;
      let norm = 0;
      for (let f = 0; f < a.per; f++) {
        diff += (row[f] - map[f]) ** 2;
        norm += row[f] ** 2;
      }
      out[i][s] = changed ? NaN : Math.sqrt(diff) / (o.relative ? Math.sqrt(norm) : 1);
    },
    o.returnNanWhenPredictionChanges,
  );
  return out;
}
