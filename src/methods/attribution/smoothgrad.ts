import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { noisyGradientMoments, type NoiseOptions } from './noisy-gradients.js';
import { resolveTargets, type AttributionResult, type Target } from './support.js';

/** SmoothGrad's options: the noise, and the squared variant. */
export interface SmoothGradOptions extends NoiseOptions {
  /** SmoothGrad² (the mean of squared gradients, non-negative) instead of the mean gradient; default false. */
  squared?: boolean;
}

/**
 * SmoothGrad (Smilkov et al. 2017): the input gradient of the target's logit averaged over `samples` (default 25)
 * noisy copies of each image, noise σ = `noiseLevel` (default 0.15) × the image's value range; N×3×H×W, signed (or
 * the mean of squares with `squared`). Seeded (`seed`, default 0); copies run in batches of `batchSize` (default 5, which divides the default counts, so no batch is padded).
 */
export async function smoothGrad(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  options: SmoothGradOptions = {},
): Promise<AttributionResult> {
  const { labels, scores } = await resolveTargets(
    classifier,
    images,
    target,
    options.batchSize ?? 5,
    'smoothGrad',
  );
  const { sum, sumSq, samples } = await noisyGradientMoments(
    classifier,
    images,
    labels,
    'smoothGrad',
    options,
  );
  const from = options.squared ? sumSq : sum;
  const data = Float32Array.from(from, (v) => v / samples);
  return { maps: { data, dims: [...images.dims] }, labels, scores };
}
