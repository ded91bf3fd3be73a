import { Random } from '../random.js';
import {
  baselineValue,
  broadcastMaps,
  checkFeaturesInStep,
  metricOptions,
  prepareMaps,
  scoreCopies,
} from './support.js';
import type { MetricInput } from './types.js';

/** Options of Non-Sensitivity, with Quantus's defaults. */
export const nonSensitivityDefaults = {
  /** Attributions and score changes below this count as zero. */
  eps: 1e-5,
  /** Features (channel values) perturbed together; must divide H·W, as Quantus asks. */
  featuresInStep: 1,
  perturbBaseline: 'black',
  abs: true,
  normalise: true,
  softmax: true,
  /** Seed of the 'uniform' baseline's draws. */
  seed: 0,
};

/**
 * Non-Sensitivity (Nguyen & Martínez 2020, "On quantitative aspects of model interpretability"): the features (channel
 * values) are split into those the map deems irrelevant (absolute value, normalised by the largest, below `eps`) and
 * the rest; each group of `featuresInStep` (default 1) of them, in order of position within its set, is set to the
 * baseline (default 'black') on its own, and the label's softmax probability compared with the image's. The score
 * counts the features where the map and the model disagree, irrelevant but the score moved by `eps` or more, or
 * relevant but the score did not: the size of the symmetric difference of the two sets. Lower is better. One model run
 * per group, batched across images: C·H·W / featuresInStep runs per image. Returns one count per image.
 */
export async function nonSensitivity(
  input: MetricInput,
  options: Partial<typeof nonSensitivityDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('non-sensitivity', nonSensitivityDefaults, options);
  const a = prepareMaps('non-sensitivity', input.maps, input.images, o);
  const [n, c] = input.images.dims;
  const per = c * a.plane;
  checkFeaturesInStep('non-sensitivity', o.featuresInStep, a.plane);
  const values = broadcastMaps(a, c);
  // Per image: the irrelevant features, then the relevant ones, each set in order of position and cut into groups.
  const sets = Array.from({ length: n }, (_, i) => {
    const row = values.subarray(i * per, (i + 1) * per);
    const all = Uint32Array.from({ length: per }, (_, f) => f);
    return [all.filter((f) => row[f] < o.eps), all.filter((f) => !(row[f] < o.eps))];
  });
  const group = (i: number, g: number): Uint32Array => {
    const [irrelevant, relevant] = sets[i];
    const first = Math.ceil(irrelevant.length / o.featuresInStep);
    const [set, k] = g < first ? [irrelevant, g] : [relevant, g - first];
    return set.subarray(k * o.featuresInStep, (k + 1) * o.featuresInStep);
  };
  const counts = sets.map(
    ([a, b]) => Math.ceil(a.length / o.featuresInStep) + Math.ceil(b.length / o.featuresInStep),
  );
  const offsets = counts.reduce<number[]>((acc, c) => [...acc, acc[acc.length - 1] + c + 1], [0]);
  const image = (j: number) => offsets.findIndex((start, i) => j >= start && j < offsets[i + 1]);
  const random = new Random(o.seed);
  const { scores } = await scoreCopies(
    input,
    offsets[n],
    (j, out) => {
      const i = image(j);
      const x = input.images.data.subarray(i * per, (i + 1) * per);
      out.set(x);
      const g = j - offsets[i] - 1; // -1: the unperturbed image
      if (g < 0) return;
      const v = baselineValue('non-sensitivity', o.perturbBaseline, x, random);
      for (const f of group(i, g)) out[f] = v;
    },
    (j) => input.labels[image(j)],
    o,
  );
  return counts.map((count, i) => {
    const y = scores[offsets[i]];
    let violations = 0;
    for (let g = 0; g < count; g++) {
      const unmoved = Math.abs(y - scores[offsets[i] + 1 + g]) < o.eps;
      for (const f of group(i, g)) if (unmoved !== values[i * per + f] < o.eps) violations++;
    }
    return violations;
  });
}
