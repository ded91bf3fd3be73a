import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import type { CamOptions, CamResult } from './cam.js';
import { gradCam } from './gradcam.js';
import { guidedBackprop } from './guided-backprop.js';
import { resolveTargets, type Target } from './support.js';

/** Guided Grad-CAM's maps with the Grad-CAM they were weighted by. */
export interface GuidedGradCamResult extends CamResult {
  /** N×H×W upsampled Grad-CAM. */
  cams: Tensor;
}

/**
 * Guided Grad-CAM (Selvaraju et al. 2017): Guided Backprop's N×3×H×W map times the upsampled Grad-CAM at `layer`
 * (default as Grad-CAM's), pixel by pixel; signed. `target` defaults to the predicted class; images run in batches of
 * `batchSize` (default 16).
 */
export async function guidedGradCam(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  options: CamOptions = {},
): Promise<GuidedGradCamResult> {
  const { labels } = await resolveTargets(
    classifier,
    images,
    target,
    options.batchSize ?? 16,
    'guidedGradCam',
  );
  const cam = await gradCam(classifier, images, labels, options);
  const guided = await guidedBackprop(classifier, images, labels, options);
  const [n, c, h, w] = images.dims;
  const plane = h * w;
  const data = guided.maps.data;
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++)
      for (let p = 0; p < plane; p++) data[(i * c + ch) * plane + p] *= cam.maps.data[i * plane + p];
  return { ...cam, maps: { data, dims: [...images.dims] }, cams: cam.maps };
}
