import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { classActivationMaps, type CamOptions, type CamResult, type ChannelWeights } from './cam.js';
import type { Target } from './support.js';

/**
 * Grad-CAM++'s weights (Chattopadhyay et al. 2018) in the closed form for an exponential of the score, as
 * pytorch-grad-cam computes them: w_k = Σ_ij a_ij ReLU(g_ij) with a_ij = g² / (2g² + Σ_ab A_ab · g³) (0 where g = 0).
 */
const plusPlusWeights: ChannelWeights = (a, g, channels, plane) => {
  const weights = new Float64Array(channels);
  for (let k = 0; k < channels; k++) {
    let sumA = 0;
    for (let p = k * plane; p < (k + 1) * plane; p++) sumA += a[p];
    let w = 0;
    for (let p = k * plane; p < (k + 1) * plane; p++) {
      const gp = g[p];
      if (gp <= 0) continue; // ReLU(g) = 0
      const g2 = gp * gp;
      w += (g2 / (2 * g2 + sumA * g2 * gp + 1e-6)) * gp;
    }
    weights[k] = w;
  }
  return weights;
};

/**
 * Grad-CAM++ (Chattopadhyay et al. 2018): Grad-CAM with each channel weighted by its positive gradients, each scaled
 * by the closed-form a_ij, at `layer` (default as Grad-CAM's); N×H×W, non-negative. `target` defaults to the predicted
 * class; images run in batches of `batchSize` (default 16).
 */
export function gradCamPlusPlus(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  options: CamOptions = {},
): Promise<CamResult> {
  return classActivationMaps(classifier, images, target, plusPlusWeights, 'gradCamPlusPlus', options);
}
