// What Max-Sensitivity and Avg-Sensitivity share: changes of a map under uniform noise on the input.
import { copyScores, metricOptions } from './support.js';
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
  const [low, high] = o.upperBound === null ? [-o.lowerBound, o.lowerBound] : [o.lowerBound, o.upperBound];
  return copyScores(
    metric,
    input,
    o,
    (random) => low + (high - low) * random.next(),
    (a, b) => {
      let diff = 0;
      let norm = 0;
      for (let f = 0; f < a.length; f++) {
        diff += (a[f] - b[f]) ** 2;
        norm += a[f] ** 2;
      }
      return Math.sqrt(diff) / (o.relative ? Math.sqrt(norm) : 1);
    },
    o.returnNanWhenPredictionChanges,
  );
}
