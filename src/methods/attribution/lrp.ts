import { epsilonPlusFlat } from '../../autodiff/composite.js';
import type { Composite } from '../../autodiff/types.js';
import type { Preprocessing } from '../../image/types.js';
import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import {
  inputGradients,
  resolveTargets,
  type AttributionOptions,
  type AttributionResult,
  type Target,
} from './support.js';

/** LRP's options. */
export interface LrpOptions extends AttributionOptions {
  /** The rules; default Zennit's EpsilonPlusFlat (`epsilonPlusFlat()`). */
  composite?: Composite;
}

/** LRP relevance maps and how much relevance reached the input. */
export interface LrpResult extends AttributionResult {
  /** Per image, Σ relevance over the input: 1 less what biases and stabilizers took on the way. */
  relevanceSums: number[];
}

/**
 * The lowest and highest input values, per channel, of images in [0, 1] after `preprocessing`'s normalisation:
 * the bounds of the z-box rule (`epsilonGammaBox`).
 */
export function inputBounds({ mean, std }: Preprocessing): { low: number[]; high: number[] } {
  return { low: mean.map((m, c) => (0 - m) / std[c]), high: mean.map((m, c) => (1 - m) / std[c]) };
}

/**
 * Layer-wise relevance propagation (Bach et al. 2015) with the backward rules of `composite` (default Zennit's
 * EpsilonPlusFlat; see `epsilonGammaBox`, `epsilonAlpha2Beta1` or build one), compiled into the backward graph: the
 * relevance of each input value for the target, N×3×H×W, starting from relevance 1 on the target's logit (Zennit's
 * one-hot output relevance; every rule is linear in it, so multiply by `scores` for logit units). `target` defaults
 * to the predicted class; images run in batches of `batchSize` (default 16).
 */
export async function lrp(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { composite = epsilonPlusFlat(), batchSize = 16, ...opts }: LrpOptions = {},
): Promise<LrpResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, 'lrp');
  const maps = await inputGradients(classifier, images, labels, composite, batchSize, opts);
  const per = maps.data.length / labels.length;
  const relevanceSums = labels.map((_, i) =>
    maps.data.subarray(i * per, (i + 1) * per).reduce((a, v) => a + v, 0),
  );
  return { maps, labels, scores, relevanceSums };
}
