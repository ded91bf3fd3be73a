import { DEEPLIFT_RESCALE } from '../../autodiff/composite.js';
import type { Classifier } from '../../model/classifier.js';
import { ModelError } from '../../onnx/proto.js';
import type { Tensor } from '../../tensor.js';
import { oneHot } from '../common.js';
import { makeBaselines, type Baseline } from './integrated-gradients.js';
import {
  inBatches,
  resolveTargets,
  type AttributionOptions,
  type AttributionResult,
  type Target,
} from './support.js';

/** DeepLIFT's options. */
export interface DeepLiftOptions extends AttributionOptions {
  /** The reference, as Integrated Gradients' baselines: default 'black'. */
  baseline?: Baseline;
  /** Blur of the 'blur' reference, in pixels; default 10. */
  blurSigma?: number;
  /** Seed of the 'uniform' reference; default 0. */
  seed?: number;
}

/** DeepLIFT attributions and how well they add up. */
export interface DeepLiftResult extends AttributionResult {
  /** Each reference's logit for the label. */
  baselineScores: number[];
  /** Per image, Σ attributions − (f(x) − f(reference)) (Captum's convergence delta; 0 up to float error). */
  deltas: number[];
}

/** One (image, reference) pair's attributions with the target's logit at both. */
export interface PairAttribution {
  /** (x − reference) ⊙ multipliers, 3×H×W. */
  attributions: Float32Array;
  score: number;
  baselineScore: number;
}

/**
 * DeepLIFT's attributions for `pairs` (image index into `images`, reference index into `references`, K×3×H×W), each
 * explaining `labels[image]`: runs of 2·`batchSize` rows (or the model's fixed batch), the images then their
 * references, through the rescale rule (DEEPLIFT_RESCALE), the target seeded on both halves as Captum does.
 * `use(j, pair)` receives pair j's attributions (the array is reused: copy what you keep). Throws a ModelError for a
 * model whose fixed batch is odd: an image and its reference must run together.
 */
export async function deepLiftPairs(
  classifier: Classifier,
  images: Tensor,
  references: Tensor,
  pairs: readonly { image: number; reference: number }[],
  labels: readonly number[],
  batchSize: number,
  opts: Pick<AttributionOptions, 'onStep' | 'signal'>,
  use: (j: number, pair: PairAttribution) => void,
): Promise<void> {
  const fixed = classifier.fixedBatch;
  if (fixed !== undefined && fixed % 2 !== 0)
    throw new ModelError(
      `${classifier.source} fixes its batch at ${fixed}; DeepLIFT runs each image with its reference, 2 rows`,
    );
  const runSize = fixed === undefined ? batchSize : fixed / 2;
  const per = images.data.length / images.dims[0];
  const k = classifier.numClasses;
  let batch: Float32Array | undefined;
  const attributions = new Float32Array(per);
  await inBatches(pairs.length, runSize, opts, async (start, count, fewer) => {
    // A fixed batch is filled even when fewer pairs remain: padding would put other rows between the halves.
    const size = fixed === undefined ? fewer : runSize;
    batch ??= new Float32Array(2 * size * per);
    const rows: number[] = [];
    for (let r = 0; r < size; r++) {
      const { image, reference } = pairs[start + Math.min(r, count - 1)];
      batch.set(images.data.subarray(image * per, (image + 1) * per), r * per);
      batch.set(references.data.subarray(reference * per, (reference + 1) * per), (size + r) * per);
      rows.push(labels[image]);
    }
    const { grad, logits } = await classifier.inputGradient(
      { data: batch, dims: [2 * size, ...images.dims.slice(1)] },
      oneHot([...rows, ...rows], k),
      DEEPLIFT_RESCALE,
    );
    for (let r = 0; r < count; r++) {
      const x = batch.subarray(r * per, (r + 1) * per);
      const b = batch.subarray((size + r) * per, (size + r + 1) * per);
      const g = grad.data.subarray(r * per, (r + 1) * per);
      for (let p = 0; p < per; p++) attributions[p] = (x[p] - b[p]) * g[p];
      use(start + r, {
        attributions,
        score: logits.data[r * k + rows[r]],
        baselineScore: logits.data[(size + r) * k + rows[r]],
      });
    }
  });
}

/**
 * DeepLIFT with the rescale rule (Shrikumar et al. 2017) as Captum's `DeepLift` (multiply_by_inputs): (x − x₀) ⊙ the
 * multipliers from the target's logit back to the input, where each nonlinearity's multiplier is Δy/Δx between the
 * image and the reference x₀ (`baseline`, default black), N×3×H×W, signed. MaxPool's rule sums what overlapping
 * windows send to one input (Captum's stock rule keeps one of them), so Σ attributions = f(x) − f(x₀) up to float
 * error (`deltas`). `target` defaults to the predicted class; images run in batches of `batchSize` (default 8), each
 * run holding the images and their references.
 */
export async function deepLift(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { baseline = 'black', blurSigma = 10, seed = 0, batchSize = 8, ...opts }: DeepLiftOptions = {},
): Promise<DeepLiftResult> {
  const { labels } = await resolveTargets(classifier, images, target, batchSize, 'deepLift');
  const references = makeBaselines(classifier, images, baseline, blurSigma, seed, 'deepLift');
  const per = images.data.length / labels.length;
  const maps = new Float32Array(images.data.length);
  const scores: number[] = [];
  const baselineScores: number[] = [];
  const deltas: number[] = [];
  const pairs = labels.map((_, i) => ({ image: i, reference: i }));
  await deepLiftPairs(classifier, images, references, pairs, labels, batchSize, opts, (i, pair) => {
    maps.set(pair.attributions, i * per);
    scores.push(pair.score);
    baselineScores.push(pair.baselineScore);
    deltas.push(pair.attributions.reduce((a, v) => a + v, 0) - (pair.score - pair.baselineScore));
  });
  return { maps: { data: maps, dims: [...images.dims] }, labels, scores, baselineScores, deltas };
}
