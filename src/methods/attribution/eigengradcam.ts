import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { classActivationMaps, type CamImage, type CamOptions, type CamResult } from './cam.js';
import { firstPrincipalProjection } from './eigencam.js';
import type { Target } from './support.js';

const gradientActivationProjection: CamImage = {
  map: ({ a, g, channels, plane }) => {
    const ga = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) ga[i] = g[i] * a[i];
    return firstPrincipalProjection(ga, channels, plane);
  },
};

/**
 * Eigen-Grad-CAM (pytorch-grad-cam's class-discriminative variant of Eigen-CAM, Muhammad & Yeasin 2020): ReLU of the
 * first principal component projection of ∂ logit / ∂ A ⊙ A, at `layer` (default as Grad-CAM's), upsampled
 * bilinearly; N×H×W, non-negative. `target` defaults to the predicted class; images run in batches of `batchSize`
 * (default 16).
 */
export function eigenGradCam(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  options: CamOptions = {},
): Promise<CamResult> {
  return classActivationMaps(
    classifier,
    images,
    target,
    gradientActivationProjection,
    'eigenGradCam',
    options,
  );
}
