import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { classActivationMaps, type CamImage, type CamOptions, type CamResult } from './cam.js';
import type { Target } from './support.js';

// Σ_k G^k ⊙ A^k: the gradient times the activation, element by element, summed over channels.
const gradientTimesActivation: CamImage = {
  map: ({ a, g, channels, plane }) => {
    const cam = new Float64Array(plane);
    for (let k = 0; k < channels; k++)
      for (let p = 0; p < plane; p++) cam[p] += g[k * plane + p] * a[k * plane + p];
    return cam;
  },
};

/**
 * HiResCAM (Draelos & Carin 2020): ReLU(Σ_k ∂ logit / ∂ A^k ⊙ A^k), Grad-CAM without the spatial averaging of the
 * gradients, so the map shows exactly the locations that raise the score through this layer; at `layer` (default as
 * Grad-CAM's), upsampled bilinearly; N×H×W, non-negative. `target` defaults to the predicted class; images run in
 * batches of `batchSize` (default 16).
 */
export function hiResCam(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  options: CamOptions = {},
): Promise<CamResult> {
  return classActivationMaps(classifier, images, target, gradientTimesActivation, 'hiResCam', options);
}
