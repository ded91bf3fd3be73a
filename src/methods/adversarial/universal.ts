import type { Classifier } from '../../model/classifier.js';
import { l2Norm, sliceBatch, type Tensor } from '../../tensor.js';
import { argmaxRows, checkImageBatch } from '../common.js';
import { Random } from '../random.js';
import {
  eightBitPixels,
  modelInput,
  pixelChange,
  unitScale,
  type AttackRunOptions,
  type PixelUnits,
} from './attack.js';
import { roundWithinBudget, type BudgetNorm } from './budgeted.js';
import { deepFoolChange } from './deepfool.js';

/** Options of the universal perturbation. */
export interface UniversalOptions extends Omit<AttackRunOptions, 'batchSize'> {
  /** The norm of the budget ξ. Default 'linf'. */
  norm?: BudgetNorm;
  /** Budget ξ in `units`. Default 10 (L∞) or 2000 (L2), the paper's ImageNet budgets. */
  eps?: number;
  /** Units of `eps`. Default '0-255'. */
  units?: PixelUnits;
  /** Stop once this fraction of the images is fooled (1 − δ). Default 0.8 (δ = 0.2, the paper's). */
  targetFoolingRate?: number;
  /** Most passes over the images. Default 10. */
  maxPasses?: number;
  /** DeepFool's most iterations per image. Default 10. */
  maxIterations?: number;
  /** DeepFool's overshoot. Default 0.02. */
  overshoot?: number;
  /** DeepFool's candidate classes. Default 10. */
  candidates?: number;
  /** Seed of the order the images are visited in each pass. Default 0. */
  seed?: number;
}

/** A universal perturbation and how often it fools the images it was computed on. */
export interface UniversalResult {
  /** 1×3×H×W, whole pixel values in [−ξ, ξ] (0-255 units), CHW: added to an image's 8-bit pixels, then clipped to [0, 255]. */
  perturbation: Tensor;
  norm: BudgetNorm;
  /** ξ in 0-255 units. */
  eps: number;
  /** Fraction of the images whose predicted class the perturbation changes. */
  foolingRate: number;
  /** Passes made over the images. */
  passes: number;
  /** Size of the perturbation in 0-255 pixel units. */
  linfPixels: number;
  l2Pixels: number;
}

/** How a perturbation changes a batch's predictions. */
export interface FoolingRate {
  /** Fraction of images whose predicted class changes. */
  rate: number;
  clean: number[];
  perturbed: number[];
}

/**
 * A random perturbation of the same budget as a universal one, to tell a universal perturbation from noise: L∞,
 * every value ±⌊ξ⌋ with equal odds; L2, a Gaussian direction scaled to ξ and rounded to whole values within it.
 * `dims` 1×3×H×W, `eps` ξ in 0-255 units, `seed` default 0. Same layout and units as `UniversalResult.perturbation`.
 */
export function randomPerturbation(dims: number[], norm: BudgetNorm, eps: number, seed = 0): Tensor {
  const count = dims.reduce((a, b) => a * b, 1);
  const rng = new Random(seed);
  if (norm === 'linf') {
    const e = Math.floor(eps + 1e-6);
    return { data: Float32Array.from({ length: count }, () => (rng.int(0, 1) === 0 ? -e : e)), dims };
  }
  const g = rng.normals(count);
  const k = eps / l2Norm(g);
  return {
    data: roundWithinBudget(
      g.map((x) => x * k),
      new Float32Array(count),
      'l2',
      eps,
    ),
    dims,
  };
}

/** `u0` plus the perturbation `v`, clipped to [0, 255] (one image). */
function perturb(u0: Float32Array, v: Float32Array): Float32Array {
  return u0.map((x, j) => Math.min(255, Math.max(0, x + v[j])));
}

/**
 * The fooling rate of a perturbation (1×3×H×W whole pixel values, as `universalPerturbation` returns) on a batch of
 * images of the same size: the fraction whose predicted class changes when it is added to their 8-bit pixels
 * (Moosavi-Dezfooli et al. 2017). Throws when the sizes differ.
 */
export async function foolingRate(
  classifier: Classifier,
  images: Tensor,
  perturbation: Tensor,
): Promise<FoolingRate> {
  checkImageBatch(images);
  if (images.dims.slice(1).join() !== perturbation.dims.slice(1).join())
    throw new Error(
      `fooling rate: images are ${images.dims.slice(2).join('×')}, the perturbation ${perturbation.dims.slice(2).join('×')}`,
    );
  const p = classifier.preprocessing;
  const n = images.dims[0];
  const per = images.data.length / n;
  const u0 = eightBitPixels(images, p);
  const moved = new Float32Array(u0.length);
  for (let i = 0; i < n; i++)
    moved.set(perturb(u0.subarray(i * per, (i + 1) * per), perturbation.data), i * per);
  const clean = argmaxRows(await classifier.logits(images));
  const perturbed = argmaxRows(await classifier.logits(modelInput(moved, images.dims, p)));
  return { rate: clean.filter((c, i) => c !== perturbed[i]).length / n, clean, perturbed };
}

/**
 * A universal adversarial perturbation (Moosavi-Dezfooli et al. 2017, Algorithm 1): one change v with ‖v‖ ≤ ξ that
 * alters the model's prediction on most images. Passes over the images in a random order; for each image that
 * x + v does not fool yet (v rounded to whole pixel values, as it is returned), DeepFool's minimal change Δv sending
 * x + v across the nearest boundary is added and v is projected back onto the ξ-ball (Δv minimal in the budget's
 * norm: the paper takes it in L2 for both budgets, but L2 changes spread below half a pixel level and vanish when v
 * is rounded to whole values; L∞ ones do not); stops when the fooling rate on these images reaches
 * `targetFoolingRate` or after `maxPasses` passes. The fooling rate is measured, and v returned, rounded to whole pixel values within ξ, so every
 * perturbed image is an exact 8-bit image. Defaults:
 * the paper's (ξ = 10 L∞, δ = 0.2, DeepFool with overshoot 0.02, 10 classes, at most 10 iterations).
 */
export async function universalPerturbation(
  classifier: Classifier,
  images: Tensor,
  options: UniversalOptions = {},
): Promise<UniversalResult> {
  checkImageBatch(images);
  const norm = options.norm ?? 'linf';
  if (norm !== 'linf' && norm !== 'l2') throw new Error(`universal: norm '${norm}', expected 'linf' or 'l2'`);
  const eps =
    options.eps === undefined ? (norm === 'linf' ? 10 : 2000) : options.eps * unitScale(options.units);
  const {
    targetFoolingRate = 0.8,
    maxPasses = 10,
    maxIterations = 10,
    overshoot = 0.02,
    candidates = 10,
    seed = 0,
    onStep,
    signal,
  } = options;
  if (!(eps > 0 && Number.isFinite(eps)))
    throw new Error(`universal: eps ${options.eps}, expected a positive number`);
  if (!(targetFoolingRate > 0 && targetFoolingRate <= 1))
    throw new Error(`universal: targetFoolingRate ${targetFoolingRate}, expected a number in (0, 1]`);
  if (!(Number.isInteger(maxPasses) && maxPasses >= 1))
    throw new Error(`universal: maxPasses ${maxPasses}, expected a positive integer`);
  const p = classifier.preprocessing;
  const [n, c, h, w] = images.dims;
  const per = c * h * w;
  const u0 = eightBitPixels(images, p);
  const clean = argmaxRows(await classifier.logits(images));
  const rng = new Random(seed);
  const zero = new Float32Array(per);
  // v moves in the float domain; what is measured and returned is v rounded to whole pixel values within ξ.
  const v = new Float32Array(per);
  const rounded = () =>
    norm === 'linf'
      ? v.map((x) => Math.max(-Math.floor(eps + 1e-6), Math.min(Math.floor(eps + 1e-6), Math.round(x))))
      : roundWithinBudget(v, zero, 'l2', eps);
  // v rounded, recomputed only when v changes (L2's rounding bisects over the whole image).
  let vRounded = rounded();
  let rate = 0;
  let passes = 0;
  while (passes < maxPasses && rate < targetFoolingRate) {
    passes++;
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const [k, i] of order.entries()) {
      signal?.throwIfAborted();
      // The image as the rounded perturbation leaves it: a float v that fools it may not once rounded.
      const x = perturb(u0.subarray(i * per, (i + 1) * per), vRounded);
      const dims = [1, c, h, w];
      if (argmaxRows(await classifier.logits(modelInput(x, dims, p)))[0] === clean[i]) {
        const { change, fooled } = await deepFoolChange(classifier, x, dims, {
          norm,
          overshoot,
          candidates,
          maxIterations,
          signal,
        });
        if (fooled) {
          project(v, change, norm, eps);
          vRounded = rounded();
        }
      }
      onStep?.((passes - 1) * n + k + 1, maxPasses * n);
    }
    rate = (await foolingRate(classifier, images, { data: vRounded, dims: [1, c, h, w] })).rate;
  }
  onStep?.(maxPasses * n, maxPasses * n);
  const final = vRounded;
  return {
    perturbation: { data: final, dims: [1, c, h, w] },
    norm,
    eps,
    foolingRate: rate,
    passes,
    ...pixelChange(final, zero),
  };
}

/** v ← P(v + Δ): the sum projected onto the ξ-ball of the norm, in place. */
function project(v: Float32Array, delta: Float32Array, norm: BudgetNorm, eps: number): void {
  for (let j = 0; j < v.length; j++) v[j] += delta[j];
  if (norm === 'linf') {
    for (let j = 0; j < v.length; j++) v[j] = Math.max(-eps, Math.min(eps, v[j]));
    return;
  }
  let s = 0;
  for (const x of v) s += x * x;
  const k = Math.min(1, eps / Math.sqrt(s));
  for (let j = 0; j < v.length; j++) v[j] *= k;
}

/** Image `i` of a batch with a perturbation applied, as the model's normalised input (for figures). */
export function perturbedImage(
  classifier: Classifier,
  images: Tensor,
  i: number,
  perturbation: Tensor,
): Tensor {
  const image = sliceBatch(images, i);
  const u = perturb(eightBitPixels(image, classifier.preprocessing), perturbation.data);
  return modelInput(u, image.dims, classifier.preprocessing);
}
