import { Random } from '../random.js';
import { metricOptions, prepareMaps } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Random Logit, with Quantus's defaults. */
export const randomLogitDefaults = {
  abs: false,
  normalise: true,
  /** Seed of the other class drawn per image. */
  seed: 42,
};

/** scipy.ndimage.uniform_filter1d of size 7 with its 'reflect' border (d c b a | a b c d | d c b a). */
function uniformFilter7(x: Float64Array): Float64Array {
  const n = x.length;
  const at = (i: number) => {
    const m = ((i % (2 * n)) + 2 * n) % (2 * n);
    return x[m < n ? m : 2 * n - 1 - m];
  };
  return Float64Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let k = -3; k <= 3; k++) s += at(i + k);
    return s / 7;
  });
}

/**
 * Structural similarity of two equally long 1-D signals, as scikit-image's `structural_similarity` computes it for
 * Quantus (a uniform window of 7, sample covariances, K1 0.01, K2 0.03, the data range from the smaller minimum to
 * the larger maximum of the two, the mean over positions at least 3 from either end). Throws for fewer than 7 values.
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length < 7 || a.length !== b.length)
    throw new RangeError(`ssim: signals of ${a.length} and ${b.length} values, expected 7 or more of each`);
  const x = Float64Array.from(a);
  const y = Float64Array.from(b);
  let min = Infinity;
  let max = -Infinity;
  for (const v of [...x, ...y]) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const range = Math.abs(max - min);
  const [ux, uy] = [uniformFilter7(x), uniformFilter7(y)];
  const uxx = uniformFilter7(x.map((v) => v * v));
  const uyy = uniformFilter7(y.map((v) => v * v));
  const uxy = uniformFilter7(x.map((v, i) => v * y[i]));
  const cov = 7 / 6;
  const c1 = (0.01 * range) ** 2;
  const c2 = (0.03 * range) ** 2;
  let sum = 0;
  for (let i = 3; i < x.length - 3; i++) {
    const vx = cov * (uxx[i] - ux[i] * ux[i]);
    const vy = cov * (uyy[i] - uy[i] * uy[i]);
    const vxy = cov * (uxy[i] - ux[i] * uy[i]);
    sum += ((2 * ux[i] * uy[i] + c1) * (2 * vxy + c2)) / ((ux[i] ** 2 + uy[i] ** 2 + c1) * (vx + vy + c2));
  }
  return sum / (x.length - 6);
}

/**
 * Random Logit (Sixt et al. 2020, "When explanations lie: why many modified BP attributions fail"): the explanation
 * method is re-run for a class drawn uniformly from the others, and the score is the structural similarity (SSIM) of
 * that map with the map under test (both normalised by their largest absolute value): an explanation of the label
 * should differ from one of another class, so lower is better. Stochastic (`seed`: which class). Returns one score
 * per image.
 */
export async function randomLogit(
  input: MetricInput,
  options: Partial<typeof randomLogitDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('random-logit', randomLogitDefaults, options);
  const a = prepareMaps('random-logit', input.maps, input.images, o);
  const k = input.classifier.numClasses;
  const random = new Random(o.seed);
  const others = input.labels.map((y) => {
    const r = Math.floor(random.next() * (k - 1));
    return r < y ? r : r + 1;
  });
  input.signal?.throwIfAborted();
  const b = prepareMaps(
    'random-logit',
    await input.explain(input.classifier, input.images, others),
    input.images,
    o,
  );
  input.onStep?.(1, 1);
  if (b.per !== a.per)
    throw new Error(`random-logit: explain gave ${b.per} values per image, the maps ${a.per}`);
  return Array.from({ length: a.n }, (_, i) =>
    ssim(a.data.subarray(i * a.per, (i + 1) * a.per), b.data.subarray(i * b.per, (i + 1) * b.per)),
  );
}
