import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { noisyGradientMoments, type NoiseOptions } from './noisy-gradients.js';
import { resolveTargets, type AttributionResult, type Target } from './support.js';

/**
 * VarGrad (Adebayo et al. 2018): the variance (population, 1/n) of the input gradient of the target's logit over
 * `samples` (default 25) noisy copies of each image, noise as SmoothGrad's (`noiseLevel` default 0.15 of the image's
 * range); N×3×H×W, non-negative. Seeded (`seed`, default 0); copies run in batches of `batchSize` (default 5, which divides the default counts, so no batch is padded).
 */
export async function varGrad(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  options: NoiseOptions = {},
): Promise<AttributionResult> {
  const { labels, scores } = await resolveTargets(
    classifier,
    images,
    target,
    options.batchSize ?? 5,
    'varGrad',
  );
  const { sum, sumSq, samples } = await noisyGradientMoments(classifier, images, labels, 'varGrad', options);
  const data = new Float32Array(sum.length);
  for (let p = 0; p < sum.length; p++) {
    const mean = sum[p] / samples;
    data[p] = Math.max(0, sumSq[p] / samples - mean * mean);
  }
  return { maps: { data, dims: [...images.dims] }, labels, scores };
}
