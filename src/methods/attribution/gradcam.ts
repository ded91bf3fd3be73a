import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { classActivationMaps, meanGradientWeights, type CamOptions, type CamResult } from './cam.js';
import type { Target } from './support.js';

/**
 * Grad-CAM (Selvaraju et al. 2017): ReLU(Σ_k α_k A^k) with α_k the mean over h×w of d logit / d A^k, at `layer`
 * (default: the last spatial layer before the classifier, reported in the result), upsampled bilinearly to H×W;
 * N×H×W, non-negative. `target` defaults to the predicted class; images run in batches of `batchSize` (default 16).
 */
export function gradCam(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  options: CamOptions = {},
): Promise<CamResult> {
  return classActivationMaps(classifier, images, target, meanGradientWeights, 'gradCam', options);
}
