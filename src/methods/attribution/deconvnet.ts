import { DECONVNET } from '../../autodiff/composite.js';
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
 * Deconvnet (Zeiler & Fergus 2014): the input "gradient" of the target's logit with the compiler's `deconvnet` ReLU
 * rule (composite DECONVNET: a gradient passes a ReLU where it is positive, whatever the forward input), N×3×H×W. `target` defaults to the
 * predicted class; images run in batches of `batchSize` (default 16).
 */
export async function deconvnet(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { batchSize = 16, ...opts }: AttributionOptions = {},
): Promise<AttributionResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, 'deconvnet');
  const maps = await inputGradients(classifier, images, labels, DECONVNET, batchSize, opts);
  return { maps, labels, scores };
}
