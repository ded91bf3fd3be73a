import { copyScores, metricOptions, nanMax } from './support.js';
import type { MetricInput } from './types.js';

/** Options of the Local Lipschitz Estimate, with Quantus's defaults. */
export const localLipschitzEstimateDefaults = {
  /** Noisy copies per image. */
  nrSamples: 200,
  /** Gaussian noise N(perturbMean, perturbStd²) per value. */
  perturbMean: 0,
  perturbStd: 0.1,
  /** Leave out copies whose predicted class differs from the image's. */
  returnNanWhenPredictionChanges: false,
  abs: false,
  normalise: true,
  /** Seed of the noise. */
  seed: 0,
};

/**
 * Local Lipschitz Estimate (Alvarez-Melis & Jaakkola 2018, "On the robustness of interpretability methods"): the
 * largest ratio ‖Φ(x) − Φ(x')‖₂ / (‖x − x'‖₂ + 1e-10) over `nrSamples` (default 200) copies x' of the image with
 * Gaussian noise (σ = 0.1) on every value, the maps normalised by their largest absolute value and the explanation
 * method re-run on each copy. Lower is better; stochastic (`seed`). The copies are explained in batches across
 * images. Returns one score per image (NaN when every copy is left out).
 */
export async function localLipschitzEstimate(
  input: MetricInput,
  options: Partial<typeof localLipschitzEstimateDefaults> = {},
): Promise<number[]> {
  const metric = 'local-lipschitz-estimate';
  const o = metricOptions(metric, localLipschitzEstimateDefaults, options);
  const rows = await copyScores(
    metric,
    input,
    o,
    (random) => o.perturbMean + o.perturbStd * random.normal(),
    (a, b, x, copy) => {
      let num = 0;
      let den = 0;
      for (let f = 0; f < a.length; f++) num += (a[f] - b[f]) ** 2;
      for (let f = 0; f < x.length; f++) den += (x[f] - copy[f]) ** 2;
      return Math.sqrt(num) / (Math.sqrt(den) + 1e-10);
    },
    o.returnNanWhenPredictionChanges,
  );
  return rows.map(nanMax);
}
