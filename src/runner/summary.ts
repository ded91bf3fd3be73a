import { Random } from '../methods/random.js';

/** A mean over images with its bootstrap confidence interval. */
export interface MeanInterval {
  mean: number;
  low: number;
  high: number;
  /** Images with a finite value (the others, e.g. a correlation of a constant map, are left out). */
  n: number;
}

/**
 * The mean of `values` and its percentile bootstrap confidence interval (Efron & Tibshirani 1993, ch. 13):
 * `resamples` (default 2000) resamples of the images with replacement, seeded (default 0) so a leaderboard is
 * reproducible, interval at `confidence` (default 0.95). Non-finite values are left out; with none left, all are NaN.
 */
export function bootstrapMean(
  values: readonly number[],
  { resamples = 2000, confidence = 0.95, seed = 0 } = {},
): MeanInterval {
  const v = values.filter(Number.isFinite);
  const n = v.length;
  if (n === 0) return { mean: NaN, low: NaN, high: NaN, n };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const random = new Random(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += v[Math.floor(random.next() * n)];
    means[r] = s / n;
  }
  means.sort();
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))];
  return { mean, low: at((1 - confidence) / 2), high: at((1 + confidence) / 2), n };
}
