import { metricOptions, prepareMaps } from './support.js';
import { randomisedClassifier } from './randomization.js';
import type { MetricInput } from './types.js';

/** Options of the Efficient Model Parameter Randomisation Test, with Quantus's defaults. */
export const efficientMprtDefaults = {
  /** Histogram bins of the discrete entropy. */
  nBins: 100,
  abs: false,
  normalise: false,
  /** Seed of the new weights. */
  seed: 42,
};

/** Shannon entropy (natural log) of the histogram of `values` in `bins` equal bins from their smallest to their largest (numpy's histogram). */
export function histogramEntropy(values: ArrayLike<number>, bins: number): number {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
  }
  // numpy widens an empty range to ±0.5.
  if (min === max) [min, max] = [min - 0.5, max + 0.5];
  const step = (max - min) / bins;
  const edge = (k: number) => (k === bins ? max : min + k * step);
  const counts = new Float64Array(bins);
  for (let i = 0; i < values.length; i++) {
    let k = Math.min(bins - 1, Math.floor(((values[i] - min) * bins) / (max - min)));
    if (values[i] < edge(k)) k--;
    else if (k < bins - 1 && values[i] >= edge(k + 1)) k++;
    counts[k]++;
  }
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / values.length) * Math.log(c / values.length);
  return h;
}

/**
 * Efficient MPRT (Hedström et al. 2023, "Sanity checks revisited: an exploration to repair the model parameter
 * randomisation test"): the relative rise of the explanation's complexity, the discrete entropy of its histogram
 * (`nBins` 100), from the map under test to the map of the fully randomised model (every weighted layer
 * re-initialised as in netvis's model-randomization check), (H_random − H) / H. An explanation that depends on what
 * the model learned becomes noisier, so higher is better. Stochastic (`seed`). Returns one score per image.
 */
export async function efficientMprt(
  input: MetricInput,
  options: Partial<typeof efficientMprtDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('efficient-mprt', efficientMprtDefaults, options);
  const a = prepareMaps('efficient-mprt', input.maps, input.images, o);
  const randomised = randomisedClassifier(input.classifier, o.seed);
  try {
    input.signal?.throwIfAborted();
    const b = prepareMaps(
      'efficient-mprt',
      await input.explain(randomised, input.images, input.labels),
      input.images,
      o,
    );
    input.onStep?.(1, 1);
    return Array.from({ length: a.n }, (_, i) => {
      const before = histogramEntropy(a.data.subarray(i * a.per, (i + 1) * a.per), o.nBins);
      const after = histogramEntropy(b.data.subarray(i * b.per, (i + 1) * b.per), o.nBins);
      return (after - before) / before;
    });
  } finally {
    await randomised.dispose();
  }
}
