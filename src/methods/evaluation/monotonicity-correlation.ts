import { Random } from '../random.js';
import {
  ascending,
  baselineValue,
  broadcastMaps,
  checkFeaturesInStep,
  checkInteger,
  metricOptions,
  prepareMaps,
  scoreCopies,
  spearmanCorrelation,
} from './support.js';
import type { MetricInput } from './types.js';

/** Options of Monotonicity Correlation, with Quantus's defaults. */
export const monotonicityCorrelationDefaults = {
  /** Perturbed copies per step. */
  nrSamples: 100,
  /** Features (channel values) perturbed per step; must divide H·W, as Quantus asks. */
  featuresInStep: 1,
  /** Scores below this count as 0 when weighting by 1/score². */
  eps: 1e-5,
  /** 'uniform': one draw from U(0, 1) per copy. */
  perturbBaseline: 'uniform',
  abs: true,
  normalise: true,
  softmax: true,
  /** Seed of the baseline's draws. */
  seed: 0,
};

/**
 * Monotonicity Correlation (Nguyen & Martínez 2020, "On quantitative aspects of model interpretability"): the features
 * (channel values) are taken in steps of `featuresInStep` (default 1) from the least relevant up; each step's
 * features alone are set to the baseline (default 'uniform': a U(0, 1) draw) in `nrSamples` copies (default 100), and
 * the step's variance, the mean squared change of the label's softmax probability divided by the probability squared,
 * is paired with the map's sum over the step. The score is the Spearman correlation of the sums and the variances:
 * higher is better; stochastic (`seed`). Copies run in batches across images: nrSamples·C·H·W / featuresInStep
 * runs per image. Returns one score per image.
 */
export async function monotonicityCorrelation(
  input: MetricInput,
  options: Partial<typeof monotonicityCorrelationDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('monotonicity-correlation', monotonicityCorrelationDefaults, options);
  const a = prepareMaps('monotonicity-correlation', input.maps, input.images, o);
  const [n, c] = input.images.dims;
  const per = c * a.plane;
  checkInteger('monotonicity-correlation', 'nrSamples', o.nrSamples, 1);
  checkFeaturesInStep('monotonicity-correlation', o.featuresInStep, a.plane);
  const values = broadcastMaps(a, c);
  const orders = Array.from({ length: n }, (_, i) => ascending(values.subarray(i * per, (i + 1) * per)));
  const steps = Math.ceil(per / o.featuresInStep);
  const copies = 1 + steps * o.nrSamples; // the image, then nrSamples copies per step
  const random = new Random(o.seed);
  const { scores } = await scoreCopies(
    input,
    n * copies,
    (j, out) => {
      const i = Math.floor(j / copies);
      const x = input.images.data.subarray(i * per, (i + 1) * per);
      out.set(x);
      const k = (j % copies) - 1;
      if (k < 0) return;
      const s = Math.floor(k / o.nrSamples);
      const v = baselineValue('monotonicity-correlation', o.perturbBaseline, x, random);
      for (const f of orders[i].subarray(s * o.featuresInStep, (s + 1) * o.featuresInStep)) out[f] = v;
    },
    (j) => input.labels[Math.floor(j / copies)],
    o,
  );
  return Array.from({ length: n }, (_, i) => {
    const y = scores[i * copies];
    const weight = Math.abs(y) >= o.eps ? 1 / y ** 2 : 1;
    const sums = new Float64Array(steps);
    const variances = new Float64Array(steps);
    for (let s = 0; s < steps; s++) {
      for (const f of orders[i].subarray(s * o.featuresInStep, (s + 1) * o.featuresInStep))
        sums[s] += values[i * per + f];
      let sq = 0;
      for (let k = 0; k < o.nrSamples; k++) sq += (scores[i * copies + 1 + s * o.nrSamples + k] - y) ** 2;
      variances[s] = (sq / o.nrSamples) * weight;
    }
    return spearmanCorrelation(sums, variances);
  });
}
