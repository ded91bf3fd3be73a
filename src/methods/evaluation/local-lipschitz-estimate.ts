import { Random } from '../random.js';
import { checkInteger, explainCopies, metricOptions, prepareMaps } from './support.js';
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
  checkInteger(metric, 'nrSamples', o.nrSamples, 1);
  const a = prepareMaps(metric, input.maps, input.images, o);
  const random = new Random(o.seed);
  const best = new Array<number>(a.n).fill(NaN);
  await explainCopies(
    metric,
    input,
    o.nrSamples,
    o,
    (_i, x, copy) => {
      for (let f = 0; f < x.length; f++) copy[f] = x[f] + o.perturbMean + o.perturbStd * random.normal();
    },
    (i, _s, copy, map, changed) => {
      if (map.length !== a.per)
        throw new Error(`${metric}: explain gave ${map.length} values per image, the maps ${a.per}`);
      if (changed) return;
      const x = input.images.data.subarray(i * copy.length, (i + 1) * copy.length);
      const row = a.data.subarray(i * a.per, (i + 1) * a.per);
      let num = 0;
      let den = 0;
      for (let f = 0; f < a.per; f++) num += (row[f] - map[f]) ** 2;
      for (let f = 0; f < copy.length; f++) den += (x[f] - copy[f]) ** 2;
      const ratio = Math.sqrt(num) / (Math.sqrt(den) + 1e-10);
      best[i] = Number.isNaN(best[i]) ? ratio : Math.max(best[i], ratio);
    },
    o.returnNanWhenPredictionChanges,
  );
  return best;
}
