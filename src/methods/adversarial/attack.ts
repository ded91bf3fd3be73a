// What the attacks in this folder share: their result, goals (targeted or not), pixel units, and the conversions
// between the model's normalised input and 8-bit pixels, where budgets are kept and results must live.
import { deprocess, imageToTensor } from '../../image/preprocess.js';
import type { Preprocessing } from '../../image/types.js';
import type { Classifier } from '../../model/classifier.js';
import { concatBatch, sizeOf, type Tensor } from '../../tensor.js';
import { argmaxRows, changeNorms, resolveClasses, type ClassRef } from '../common.js';

/** An adversarial image and what it achieved (as for fooling images). */
export interface AttackResult {
  /** 1×3×H×W, normalised like the input; an exact 8-bit image (`deprocess` gives back its bytes). */
  image: Tensor;
  /** Targeted: the model predicts the target; untargeted: it no longer predicts the label. */
  success: boolean;
  /** Gradient steps taken. */
  iterations: number;
  /** The model's class for the returned image. */
  predicted: number;
  /** The model's class for the original image. */
  originalPrediction: number;
  /** The class aimed at (targeted attacks) or moved away from (untargeted). */
  target?: number;
  label?: number;
  /** Size of the change in normalised units. */
  linf: number;
  l2: number;
  /** Size of the change in 0-255 pixel units, between the 8-bit images (what a reader of the written files measures). */
  linfPixels: number;
  l2Pixels: number;
  /**
   * Attacks that work in the float domain (APGD, FAB, Square, AutoAttack): their adversarial image before it was
   * rounded to 8 bits, as RobustBench counts robust accuracy. The fields above describe the 8-bit image.
   */
  unrounded?: UnroundedResult;
}

/** A float-domain adversarial image (pixel values in [0, 255], not whole) and what it achieved. */
export interface UnroundedResult {
  /** 1×3×H×W, normalised like the input. */
  image: Tensor;
  success: boolean;
  predicted: number;
  /** Size of the change in 0-255 pixel units. */
  linfPixels: number;
  l2Pixels: number;
}

/** Units of budgets and step sizes: 0-255 pixel values (default) or [0, 1]. */
export type PixelUnits = '0-255' | '0-1';

/** Whom an attack aims at: given targets make it targeted, else it moves each image away from its label. */
export interface AttackGoal {
  /** One class per image to be predicted instead (targeted attack). */
  targets?: readonly ClassRef[];
  /** One class per image to move away from (untargeted); default the model's prediction on each original. */
  labels?: readonly ClassRef[];
}

/** Options every attack takes besides its own. */
export interface AttackRunOptions {
  /** Images per model call; larger batches are split. Default 8. */
  batchSize?: number;
  /** Called after each gradient step with the steps done so far and the most there can be. */
  onStep?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** 0-255 per unit of `units`. */
export function unitScale(units: PixelUnits = '0-255'): number {
  if (units !== '0-255' && units !== '0-1')
    throw new Error(`attack: units '${units}', expected '0-255' or '0-1'`);
  return units === '0-255' ? 1 : 255;
}

/** A resolved goal: per image, the class aimed at or moved away from. */
export interface ResolvedGoal {
  targeted: boolean;
  classes: number[];
}

/** The goal for a batch whose original predictions are known; checks there is one class per image. */
export function resolveGoal(
  classifier: Classifier,
  goal: AttackGoal,
  originalPrediction: number[],
  what: string,
): ResolvedGoal {
  const n = originalPrediction.length;
  if (goal.targets && goal.labels) throw new Error(`${what}: give targets or labels, not both`);
  const refs = goal.targets ?? goal.labels;
  if (refs && refs.length !== n)
    throw new Error(`${what}: ${refs.length} ${goal.targets ? 'targets' : 'labels'} for ${n} images`);
  return {
    targeted: Boolean(goal.targets),
    classes: refs ? resolveClasses(classifier, refs) : [...originalPrediction],
  };
}

/** Whether prediction `p` achieves the goal for image `i`. */
export function achieved(goal: ResolvedGoal, i: number, p: number): boolean {
  return goal.targeted ? p === goal.classes[i] : p !== goal.classes[i];
}

/** Per channel `255·std`: how many 0-255 pixel units one normalised unit is. */
function pixelsPerUnit(p: Preprocessing): number[] {
  return p.std.map((s) => 255 * s);
}

/** N×3×H×W normalised images as their 8-bit pixel values (0-255 integers, rounded as `deprocess` does), CHW. */
export function eightBitPixels(images: Tensor, p: Preprocessing): Float32Array {
  const plane = images.dims[2] * images.dims[3];
  const out = new Float32Array(images.data.length);
  deprocess(images, p).forEach((img, i) => {
    for (let c = 0; c < 3; c++)
      for (let j = 0; j < plane; j++) out[(i * 3 + c) * plane + j] = img.data[j * 3 + c];
  });
  return out;
}

/** Pixel values (0-255, CHW, any real values) as the model's normalised input. */
export function modelInput(pixels: Float32Array, dims: number[], p: Preprocessing): Tensor {
  const plane = dims[2] * dims[3];
  const data = new Float32Array(pixels.length);
  for (let start = 0, c = 0; start < pixels.length; start += plane, c = (c + 1) % 3) {
    const [mean, std] = [p.mean[c], p.std[c]];
    for (let i = start; i < start + plane; i++) data[i] = (pixels[i] / 255 - mean) / std;
  }
  return { data, dims: [...dims] };
}

/** A gradient with respect to the normalised input, in place, as one with respect to 0-255 pixel values. */
export function toPixelGradient(grad: Float32Array, dims: number[], p: Preprocessing): Float32Array {
  const plane = dims[2] * dims[3];
  const scale = pixelsPerUnit(p);
  for (let start = 0, c = 0; start < grad.length; start += plane, c = (c + 1) % 3)
    for (let i = start; i < start + plane; i++) grad[i] /= scale[c];
  return grad;
}

/** L∞ and L2 sizes of the change from pixel values `u0` to `u` (0-255 units, one image, float64 accumulation). */
export function pixelChange(
  u: ArrayLike<number>,
  u0: ArrayLike<number>,
): { linfPixels: number; l2Pixels: number } {
  let linf = 0;
  let l2 = 0;
  for (let j = 0; j < u.length; j++) {
    const d = Math.abs(u[j] - u0[j]);
    if (d > linf) linf = d;
    l2 += d * d;
  }
  return { linfPixels: linf, l2Pixels: Math.sqrt(l2) };
}

/**
 * Results for final 8-bit pixel values `pixels` (N×3×H×W CHW, 0-255 integers) of `images`: each as the normalised
 * tensor of its 8-bit image, classified once more, with the size of its change from the input (pixel sizes from the
 * whole pixel values, so they are exactly those of the images written). With `unrounded` (float pixel values the
 * 8-bit ones were rounded from), each result also says what that float image achieved, classified once more.
 */
export async function attackResults(
  classifier: Classifier,
  images: Tensor,
  pixels: Float32Array,
  goal: ResolvedGoal,
  originalPrediction: number[],
  iterations: number[],
  unrounded?: Float32Array,
): Promise<AttackResult[]> {
  const [n, , h, w] = images.dims;
  const p = classifier.preprocessing;
  const plane = h * w;
  const per = 3 * plane;
  const u0 = eightBitPixels(images, p);
  const row = (a: Float32Array, i: number) => a.subarray(i * per, (i + 1) * per);
  const tensors = Array.from({ length: n }, (_, i) => {
    const data = new Uint8Array(per);
    for (let c = 0; c < 3; c++)
      for (let j = 0; j < plane; j++) data[j * 3 + c] = pixels[(i * 3 + c) * plane + j];
    return imageToTensor({ data, width: w, height: h }, p);
  });
  const predicted = argmaxRows(await classifier.logits(concatBatch(tensors)));
  const floats = unrounded && modelInput(unrounded, images.dims, p);
  const floatPredicted = floats && argmaxRows(await classifier.logits(floats));
  return tensors.map((image, i) => {
    const { linf, l2 } = changeNorms(
      image.data.map((v, j) => v - images.data[i * per + j]),
      p.std,
    );
    return {
      image,
      success: achieved(goal, i, predicted[i]),
      iterations: iterations[i],
      predicted: predicted[i],
      originalPrediction: originalPrediction[i],
      ...(goal.targeted ? { target: goal.classes[i] } : { label: goal.classes[i] }),
      linf,
      l2,
      ...pixelChange(row(pixels, i), row(u0, i)),
      ...(floats &&
        floatPredicted && {
          unrounded: {
            image: { data: row(floats.data, i).slice(), dims: [1, 3, h, w] },
            success: achieved(goal, i, floatPredicted[i]),
            predicted: floatPredicted[i],
            ...pixelChange(row(unrounded!, i), row(u0, i)),
          },
        }),
    };
  });
}

/** Runs `fn` on consecutive slices of at most `size` images of a batch and joins the results in order. */
export async function inSlices<T>(
  images: Tensor,
  size: number,
  fn: (slice: Tensor, start: number) => Promise<T[]>,
): Promise<T[]> {
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`attack: batchSize ${size}, expected a positive integer`);
  const n = images.dims[0];
  const per = sizeOf(images.dims.slice(1));
  const out: T[] = [];
  for (let start = 0; start < n; start += size) {
    const count = Math.min(size, n - start);
    const slice = {
      data: images.data.subarray(start * per, (start + count) * per),
      dims: [count, ...images.dims.slice(1)],
    };
    out.push(...(await fn(slice, start)));
  }
  return out;
}

/** The part of a goal for the `count` images from `start`. */
export function sliceGoal(goal: AttackGoal, start: number, count: number): AttackGoal {
  return {
    targets: goal.targets?.slice(start, start + count),
    labels: goal.labels?.slice(start, start + count),
  };
}
