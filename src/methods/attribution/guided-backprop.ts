import { GUIDED_BACKPROP } from '../../autodiff/composite.js';
import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import {
  inputGradients,
  resolveTargets,
  type AttributionOptions,
  type AttributionResult,
  type Target,
} from './support.js';

/**
 * Guided Backpropagation (Springenberg et al. 2015): the input gradient of the target's logit with the compiler's
 * `guided` ReLU rule (composite GUIDED_BACKPROP) (a gradient passes a ReLU only where both its input and the gradient are positive), N×3×H×W.
 * `target` defaults to the predicted class; images run in batches of `batchSize` (default 16).
 */
export async function guidedBackprop(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { batchSize = 16, ...opts }: AttributionOptions = {},
): Promise<AttributionResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, 'guidedBackprop');
  const maps = await inputGradients(classifier, images, labels, GUIDED_BACKPROP, batchSize, opts);
  return { maps, labels, scores };
}
