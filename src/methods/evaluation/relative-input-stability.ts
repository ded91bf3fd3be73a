import { copyScores, metricOptions, nanMax } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Relative Input Stability, with Quantus's defaults. */
export const relativeInputStabilityDefaults = {
  /** Noisy copies per image. */
  nrSamples: 200,
  /** Noise is U(lowerBound, upperBound) per value, as Quantus draws it. */
  lowerBound: 0.02,
  upperBound: 0.2,
  /** Guards against division by zero. */
  epsMin: 1e-6,
  abs: false,
  normalise: false,
  /** Seed of the noise. */
  seed: 0,
};

/**
 * Relative Input Stability (Agarwal et al. 2022, "Rethinking stability for attribution-based explanations"): the
 * largest ratio ‖(Φ(x) − Φ(x'))/Φ(x)‖₂ / max(‖(x − x')/x‖₂, epsMin) (element-wise divisions, zeros replaced by
 * epsMin) over `nrSamples` (default 200) noisy copies x' whose predicted class is the image's, the explanation method
 * re-run on each. Lower is better; stochastic (`seed`). Quantus marks a copy whose prediction changed with NaN and then
 * takes a plain maximum, so that one such copy makes the score NaN; the paper maximises over the copies that keep the
 * prediction, and so does this (NaN only when none does). Returns one score per image.
 */
export async function relativeInputStability(
  input: MetricInput,
  options: Partial<typeof relativeInputStabilityDefaults> = {},
): Promise<number[]> {
  const metric = 'relative-input-stability';
  const o = metricOptions(metric, relativeInputStabilityDefaults, options);
  const guard = (v: number) => v + (v === 0 ? o.epsMin : 0);
  const rows = await copyScores(
    metric,
    input,
    o,
    (random) => o.lowerBound + (o.upperBound - o.lowerBound) * random.next(),
    (a, b, x, copy) => {
      let num = 0;
      let den = 0;
      for (let f = 0; f < a.length; f++) num += ((a[f] - b[f]) / guard(a[f])) ** 2;
      for (let f = 0; f < x.length; f++) den += ((x[f] - copy[f]) / guard(x[f])) ** 2;
      return Math.sqrt(num) / guard(Math.sqrt(den));
    },
    true,
  );
  return rows.map(nanMax);
}
