import type { Classifier } from '../../model/classifier.js';
import { l2Norm, sizeOf, type Tensor } from '../../tensor.js';
import {
  argmaxRows,
  changeNorms,
  checkImageBatch,
  oneHot,
  resolveClasses,
  type ClassRef,
} from '../common.js';

/** Options of the CS231n fooling-image loop. */
export interface FoolingOptions {
  /** Step length in normalised units: each step adds `learningRate · g / ‖g‖₂`. Default 1. */
  learningRate?: number;
  /** Most gradient steps before giving up. Default 100. */
  maxIterations?: number;
  /** Called after each step with the step count (1-based) and the current prediction of each image. */
  onStep?: (iteration: number, predicted: number[]) => void;
  signal?: AbortSignal;
}

/** A fooling image and what it achieved. */
export interface FoolingResult {
  /** 1×3×H×W, normalised like the input. */
  image: Tensor;
  success: boolean;
  /** Gradient steps taken. */
  iterations: number;
  /** The model's class for the returned image. */
  predicted: number;
  /** The model's class for the original image. */
  originalPrediction: number;
  target: number;
  /** Size of the change in normalised units. */
  linf: number;
  l2: number;
  /** Size of the change in 0-255 pixel units. */
  linfPixels: number;
  l2Pixels: number;
}

/**
 * Fooling images (Szegedy et al. 2014, as in CS231n) for a batch: gradient ascent on each target's raw
 * score, `X += lr · g / ‖g‖₂` per image, until the model predicts the target or `maxIterations` pass.
 */
export async function makeFoolingImages(
  classifier: Classifier,
  images: Tensor,
  targets: readonly ClassRef[],
  { learningRate = 1, maxIterations = 100, onStep, signal }: FoolingOptions = {},
): Promise<FoolingResult[]> {
  checkImageBatch(images);
  const n = images.dims[0];
  if (targets.length !== n) throw new Error(`fooling: ${targets.length} targets for ${n} images`);
  const target = resolveClasses(classifier, targets);
  const per = sizeOf(images.dims.slice(1));
  const x = { data: images.data.slice(), dims: [...images.dims] };
  const steps = new Array<number>(n).fill(0);
  const predicted = new Array<number>(n).fill(-1);
  const original = new Array<number>(n).fill(-1);
  let active = Array.from({ length: n }, (_, i) => i);
  for (let it = 0; active.length > 0; it++) {
    signal?.throwIfAborted();
    // Only images not yet fooled run, padded with zero rows to a power of two so few batch shapes get compiled.
    const rows = 2 ** Math.ceil(Math.log2(active.length));
    const batch = new Float32Array(rows * per);
    active.forEach((i, r) => batch.set(x.data.subarray(i * per, (i + 1) * per), r * per));
    const seed = oneHot(
      active.map((i) => target[i]),
      classifier.numClasses,
    );
    const seedData = new Float32Array(rows * classifier.numClasses);
    seedData.set(seed.data);
    const { logits, grad } = await classifier.inputGradient(
      { data: batch, dims: [rows, ...images.dims.slice(1)] },
      { data: seedData, dims: [rows, classifier.numClasses] },
    );
    const preds = argmaxRows(logits);
    const stepping: number[] = [];
    active.forEach((i, r) => {
      predicted[i] = preds[r];
      if (original[i] < 0) original[i] = preds[r];
      if (preds[r] !== target[i]) stepping.push(r);
    });
    if (it === maxIterations || stepping.length === 0) break;
    for (const r of stepping) {
      const i = active[r];
      const g = grad.data.subarray(r * per, (r + 1) * per);
      // The step in float32 arithmetic, as CS231n's PyTorch code computes it: the run is a race between
      // similar classes (stingray vs tiger shark) that rounding alone can tip.
      const norm = Math.fround(l2Norm(g));
      if (norm === 0) continue;
      const lr = Math.fround(learningRate);
      const row = x.data.subarray(i * per, (i + 1) * per);
      for (let j = 0; j < per; j++) row[j] += Math.fround(Math.fround(lr * g[j]) / norm);
      steps[i]++;
    }
    active = stepping.map((r) => active[r]);
    onStep?.(it + 1, predicted);
  }
  const std = classifier.preprocessing.std;
  return target.map((t, i) => {
    const image = { data: x.data.slice(i * per, (i + 1) * per), dims: [1, ...images.dims.slice(1)] };
    const delta = image.data.map((v, j) => v - images.data[i * per + j]);
    return {
      image,
      success: predicted[i] === t,
      iterations: steps[i],
      predicted: predicted[i],
      originalPrediction: original[i],
      target: t,
      ...changeNorms(delta, std),
    };
  });
}

/** One fooling image (see makeFoolingImages); `image` is 1×3×H×W. */
export async function makeFoolingImage(
  classifier: Classifier,
  image: Tensor,
  target: ClassRef,
  options: FoolingOptions = {},
): Promise<FoolingResult> {
  return (await makeFoolingImages(classifier, image, [target], options))[0];
}
