import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { classActivationMaps, type CamOptions, type CamResult, type ChannelWeights } from './cam.js';
import type { Target } from './support.js';

/** XGrad-CAM's weights: w_k = Σ_ij G^k_ij A^k_ij / (Σ_ij A^k_ij + 1e-7), the 1e-7 as pytorch-grad-cam's. */
const activationWeightedGradients: ChannelWeights = (a, g, channels, plane) => {
  const weights = new Float64Array(channels);
  for (let k = 0; k < channels; k++) {
    let sumA = 0;
    let sumGA = 0;
    for (let p = k * plane; p < (k + 1) * plane; p++) {
      sumA += a[p];
      sumGA += g[p] * a[p];
    }
    weights[k] = sumGA / (sumA + 1e-7);
  }
  return weights;
};

/**
 * XGrad-CAM (Fu et al. 2020): Grad-CAM with each channel's gradient averaged with the channel's own activations as
 * weights (the weighting that satisfies the paper's sensitivity and conservation axioms), at `layer` (default as
 * Grad-CAM's), upsampled bilinearly; N×H×W, non-negative. `target` defaults to the predicted class; images run in
 * batches of `batchSize` (default 16).
 */
export function xGradCam(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  options: CamOptions = {},
): Promise<CamResult> {
  return classActivationMaps(classifier, images, target, activationWeightedGradients, 'xGradCam', options);
}
