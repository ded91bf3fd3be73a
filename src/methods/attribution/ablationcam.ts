import type { Classifier } from '../../model/classifier.js';
import { sliceBatch, type Tensor } from '../../tensor.js';
import { classActivationMaps, weightedSum, type CamImage, type CamOptions, type CamResult } from './cam.js';
import type { Target } from './support.js';

/**
 * Ablation-CAM (Desai & Ramaswamy 2020): each channel A^k of `layer` (default as Grad-CAM's) is set to zero in turn and
 * the rest of the model run from the layer on (`Classifier.logitsFrom`; a residual path around the layer, as in a
 * transformer block, still runs from the image, as pytorch-grad-cam's hook does); the relative drop of the target's logit,
 * w_k = (y − y_k) / y, weighs the channels: ReLU(Σ_k w_k A^k), upsampled bilinearly; N×H×W, non-negative.
 * Gradient-free. Channels that are already all zero are skipped (they add nothing to the sum). Ablated copies run in
 * batches of `batchSize` (default 16) through the part of the graph after the layer only; `onStep` counts channels.
 */
export async function ablationCam(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { onStep, ...options }: CamOptions = {},
): Promise<CamResult> {
  const batchSize = options.batchSize ?? 16;
  const n = images.dims[0];
  let done = 0;
  const ablationWeights: CamImage = {
    map: async ({ a, channels, plane, index, label, layer, asLayer }) => {
      const image = sliceBatch(images, index);
      const active: number[] = [];
      for (let k = 0; k < channels; k++)
        if (a.subarray(k * plane, (k + 1) * plane).some((v) => v !== 0)) active.push(k);
      done += channels - active.length;
      // Row 0 of the first batch is the layer as it is: y comes from the same partial run as every y_k.
      const rows = [-1, ...active];
      const scores = new Float64Array(rows.length);
      for (let start = 0; start < rows.length; start += batchSize) {
        options.signal?.throwIfAborted();
        const count = Math.min(batchSize, rows.length - start);
        const batch = new Float32Array(count * channels * plane);
        for (let r = 0; r < count; r++) {
          batch.set(a, r * a.length);
          const k = rows[start + r];
          if (k >= 0) batch.fill(0, r * a.length + k * plane, r * a.length + (k + 1) * plane);
        }
        const logits = await classifier.logitsFrom(layer, asLayer(batch, count), image);
        const classes = logits.dims[1];
        for (let r = 0; r < count; r++) scores[start + r] = logits.data[r * classes + label];
        done += count - (start === 0 ? 1 : 0);
        onStep?.(done, n * channels);
      }
      const weights = new Float64Array(channels);
      // A score of exactly 0 leaves the relative drop undefined (0/0): the map is then zero, as Grad-CAM's would be.
      if (scores[0] !== 0) active.forEach((k, i) => (weights[k] = (scores[0] - scores[i + 1]) / scores[0]));
      return weightedSum(weights, a, channels, plane);
    },
  };
  return classActivationMaps(classifier, images, target, ablationWeights, 'ablationCam', options);
}
