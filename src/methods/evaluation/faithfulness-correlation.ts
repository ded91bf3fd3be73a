import { Random } from '../random.js';
import {
  baselineValue,
  broadcastMaps,
  checkInteger,
  metricOptions,
  pearson,
  prepareMaps,
  scoreCopies,
} from './support.js';
import type { MetricInput } from './types.js';

/** Options of Faithfulness Correlation, with Quantus's defaults. */
export const faithfulnessCorrelationDefaults = {
  /** Random subsets per image. */
  nrRuns: 100,
  /** Features (channel values) per subset. */
  subsetSize: 224,
  perturbBaseline: 'black',
  abs: false,
  normalise: true,
  softmax: false,
  /** Seed of the subsets. */
  seed: 0,
};

/** `count` distinct integers drawn uniformly from [0, total) (a partial Fisher-Yates shuffle of `pool`). */
function sample(random: Random, pool: Uint32Array, count: number): Uint32Array {
  for (let k = 0; k < count; k++) {
    const r = k + Math.floor(random.next() * (pool.length - k));
    [pool[k], pool[r]] = [pool[r], pool[k]];
  }
  return pool.subarray(0, count);
}

/**
 * Faithfulness Correlation (Bhatt et al. 2020, "Evaluating and aggregating feature-based model explanations"): for
 * `nrRuns` (default 100) random subsets of `subsetSize` (default 224) features (channel values; an N×H×W map stands
 * for its pixel's 3 channels), the subset is set to the baseline (default 'black': the image's smallest value) and the
 * drop of the label's logit (or softmax probability) recorded; the score is the Pearson correlation, over the
 * subsets, between the drops and the map's sums over the subsets. Higher is better; stochastic (`seed`). Every subset
 * is one model run, batched across images. Returns one score per image.
 */
export async function faithfulnessCorrelation(
  input: MetricInput,
  options: Partial<typeof faithfulnessCorrelationDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('faithfulness-correlation', faithfulnessCorrelationDefaults, options);
  const a = prepareMaps('faithfulness-correlation', input.maps, input.images, o);
  const [n, c] = input.images.dims;
  const per = c * a.plane;
  checkInteger('faithfulness-correlation', 'nrRuns', o.nrRuns, 2);
  checkInteger('faithfulness-correlation', 'subsetSize', o.subsetSize, 1, per);
  const values = broadcastMaps(a, c);
  const random = new Random(o.seed);
  const pool = Uint32Array.from({ length: per }, (_, f) => f);
  // Subsets are drawn as the copies are built, run by run; their attribution sums are kept by copy.
  const sums = new Float64Array(n * o.nrRuns);
  const total = n * (o.nrRuns + 1);
  const { scores } = await scoreCopies(
    input,
    total,
    (j, out) => {
      const i = Math.floor(j / (o.nrRuns + 1));
      const r = j % (o.nrRuns + 1);
      const x = input.images.data.subarray(i * per, (i + 1) * per);
      out.set(x);
      if (r === o.nrRuns) return; // the unperturbed image
      const v = baselineValue('faithfulness-correlation', o.perturbBaseline, x, random);
      let s = 0;
      for (const f of sample(random, pool, o.subsetSize)) {
        out[f] = v;
        s += values[i * per + f];
      }
      sums[i * o.nrRuns + r] = s;
    },
    (j) => input.labels[Math.floor(j / (o.nrRuns + 1))],
    o,
  );
  return Array.from({ length: n }, (_, i) => {
    const base = i * (o.nrRuns + 1);
    const drops = Array.from({ length: o.nrRuns }, (_, r) => scores[base + o.nrRuns] - scores[base + r]);
    return pearson(sums.subarray(i * o.nrRuns, (i + 1) * o.nrRuns), drops);
  });
}
