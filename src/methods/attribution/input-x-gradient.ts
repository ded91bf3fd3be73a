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
 * Input × Gradient (Shrikumar et al. 2016): `x ⊙ d logit / d x`, N×3×H×W, signed. `x` is the model's normalised
 * input, as Captum takes it, so the implicit reference (x = 0) is the mean colour. `target` defaults to the predicted
 * class; images run in batches of `batchSize` (default 16).
 */
export async function inputXGradient(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { batchSize = 16, ...opts }: AttributionOptions = {},
): Promise<AttributionResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, 'inputXGradient');
  const grad = await inputGradients(classifier, images, labels, undefined, batchSize, opts);
  for (let i = 0; i < grad.data.length; i++) grad.data[i] *= images.data[i];
  return { maps: grad, labels, scores };
}
