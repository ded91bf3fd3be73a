import { metricOptions } from './support.js';
import { modelRandomization } from './randomization.js';
import type { MetricInput } from './types.js';

/** Options of the Model Parameter Randomisation Test, with Quantus's defaults. */
export const mprtDefaults = {
  /** Seed of the new weights. */
  seed: 42,
};

/**
 * Model Parameter Randomisation Test (Adebayo et al. 2018, "Sanity checks for saliency maps"), cascading from the
 * top: netvis's model-randomization check (every weighted layer re-initialised in turn, top down, in the ONNX
 * initializers, the explanation method re-run after each) with the maps under test as the original maps. The score is
 * the Spearman rank correlation of each map's absolute values with the fully randomised model's map (0 when that map
 * is constant, where scipy gives NaN): an explanation that depends on what the model learned changes, so lower is
 * better. Quantus reports the correlation after every
 * layer; the last one, where the model keeps nothing it learned, is the one the paper's conclusion rests on.
 * Stochastic (`seed`). Returns one score per image.
 */
export async function mprt(
  input: MetricInput,
  options: Partial<typeof mprtDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('mprt', mprtDefaults, options);
  const result = await modelRandomization(input.classifier, input.images, input.explain, {
    target: input.labels,
    seed: o.seed,
    maps: input.maps,
    signal: input.signal,
    onLayer: (_layer, done, total) => input.onStep?.(done, total),
  });
  return result.steps[result.steps.length - 1].correlations;
}
