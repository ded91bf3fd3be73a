import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { classActivationMaps, type CamImage, type CamOptions, type CamResult } from './cam.js';
import type { Target } from './support.js';

// Σ_k ReLU(G^k) ⊙ A^k: every position weighted by its own positive gradient.
const positiveGradientTimesActivation: CamImage = {
  map: ({ a, g, channels, plane }) => {
    const cam = new Float64Array(plane);
    for (let k = 0; k < channels; k++)
      for (let p = 0; p < plane; p++) {
        const gp = g[k * plane + p];
        if (gp > 0) cam[p] += gp * a[k * plane + p];
      }
    return cam;
  },
};

/**
 * LayerCAM (Jiang et al. 2021): ReLU(Σ_k ReLU(∂ logit / ∂ A^k) ⊙ A^k), each position of each channel weighted by its own
 * positive gradient rather than a channel mean, at `layer` (default as Grad-CAM's), upsampled bilinearly; N×H×W,
 * non-negative. `target` defaults to the predicted class; images run in batches of `batchSize` (default 16).
 */
export function layerCam(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  options: CamOptions = {},
): Promise<CamResult> {
  return classActivationMaps(
    classifier,
    images,
    target,
    positiveGradientTimesActivation,
    'layerCam',
    options,
  );
}
