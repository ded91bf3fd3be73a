import type { Classifier } from '../../model/classifier.js';
import { sliceBatch, type Tensor } from '../../tensor.js';
import { argmaxRows, checkImageBatch, oneHot, resolveClasses, type ClassRef } from '../common.js';

/** Saliency maps and what they were computed for. */
export interface SaliencyResult {
  /** N×H×W: max over channels of |d score / d pixel|. */
  maps: Tensor;
  /** The class each map explains. */
  labels: number[];
  /** Each image's raw score (logit) for its label. */
  scores: number[];
}

/**
 * CS231n / Simonyan et al. 2014 saliency: the gradient of each image's unnormalised score for its label
 * with respect to the input, absolute value, max over the 3 channels. `labels` default to the predicted
 * classes; images run in batches of `batchSize` (default 16); `signal` stops between batches.
 */
export async function saliency(
  classifier: Classifier,
  images: Tensor,
  labels?: readonly ClassRef[],
  { batchSize = 16, signal }: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<SaliencyResult> {
  checkImageBatch(images);
  const [n, , h, w] = images.dims;
  if (labels && labels.length !== n) throw new Error(`saliency: ${labels.length} labels for ${n} images`);
  const plane = h * w;
  const maps = new Float32Array(n * plane);
  const chosen: number[] = [];
  const scores: number[] = [];
  const resolved = labels ? resolveClasses(classifier, labels) : undefined;
  for (let start = 0; start < n; start += batchSize) {
    signal?.throwIfAborted();
    const count = Math.min(batchSize, n - start);
    const x = sliceBatch(images, start, count);
    const batchLabels = resolved?.slice(start, start + count) ?? argmaxRows(await classifier.logits(x));
    const { logits, grad } = await classifier.inputGradient(x, oneHot(batchLabels, classifier.numClasses));
    const k = logits.dims[1];
    for (let i = 0; i < count; i++) {
      chosen.push(batchLabels[i]);
      scores.push(logits.data[i * k + batchLabels[i]]);
      const out = (start + i) * plane;
      const g = i * 3 * plane;
      for (let p = 0; p < plane; p++) {
        maps[out + p] = Math.max(
          Math.abs(grad.data[g + p]),
          Math.abs(grad.data[g + plane + p]),
          Math.abs(grad.data[g + 2 * plane + p]),
        );
      }
    }
  }
  return { maps: { data: maps, dims: [n, h, w] }, labels: chosen, scores };
}
