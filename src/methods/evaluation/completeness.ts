import { Random } from '../random.js';
import { baselineValue, metricOptions, prepareMaps, scoreCopies } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Completeness: Quantus's, but for normalisation and the tolerance (see `completeness`). */
export const completenessDefaults = {
  /** Relative tolerance of the equality Σ a = f(x) − f(x'). */
  tolerance: 0.05,
  perturbBaseline: 'black',
  abs: false,
  normalise: false,
  softmax: false,
  /** Seed of the 'uniform' baseline's draw. */
  seed: 0,
};

/** Per image, the sum of its map and the change of its label's score from the baseline image to the image. */
export async function completenessGap(
  input: MetricInput,
  options: Partial<typeof completenessDefaults> = {},
): Promise<{ sum: number[]; difference: number[] }> {
  const o = metricOptions('completeness', completenessDefaults, options);
  const a = prepareMaps('completeness', input.maps, input.images, o);
  const [n, c] = input.images.dims;
  const per = c * a.plane;
  const random = new Random(o.seed);
  const { scores } = await scoreCopies(
    input,
    2 * n,
    (j, out) => {
      const x = input.images.data.subarray(Math.floor(j / 2) * per, (Math.floor(j / 2) + 1) * per);
      out.set(x);
      if (j % 2) out.fill(baselineValue('completeness', o.perturbBaseline, x, random));
    },
    (j) => input.labels[Math.floor(j / 2)],
    o,
  );
  return {
    sum: Array.from({ length: n }, (_, i) =>
      a.data.subarray(i * a.per, (i + 1) * a.per).reduce((s, v) => s + v, 0),
    ),
    difference: Array.from({ length: n }, (_, i) => scores[2 * i] - scores[2 * i + 1]),
  };
}

/**
 * Completeness (Sundararajan et al. 2017, "Axiomatic attribution for deep networks"; summation-to-delta, conservation):
 * 1 when the map sums to the change of the label's logit from the baseline image (default 'black': every value the
 * image's smallest) to the image, Σ a = f(x) − f(x'), within `tolerance` (default 5 %) of the change, else 0. Higher is
 * better. Quantus tests exact floating-point equality, and by default on the map normalised by its largest value,
 * which no method meets; the axiom is about the attributions themselves, and the paper checks it within 5 %, as here.
 * Quantus's baseline also covers only as many values as the map has (the first channel, for an H×W map); the
 * paper's baseline is a whole image, as here.
 * Returns one score per image.
 */
export async function completeness(
  input: MetricInput,
  options: Partial<typeof completenessDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('completeness', completenessDefaults, options);
  const { sum, difference } = await completenessGap(input, o);
  return sum.map((s, i) => (Math.abs(s - difference[i]) <= o.tolerance * Math.abs(difference[i]) ? 1 : 0));
}
