import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { argmaxRows, checkImageBatch } from '../common.js';
import { Adam } from '../featureviz/adam.js';
import {
  achieved,
  attackResults,
  eightBitPixels,
  inSlices,
  modelInput,
  resolveGoal,
  sliceGoal,
  toPixelGradient,
  type AttackGoal,
  type AttackResult,
  type AttackRunOptions,
  type ResolvedGoal,
} from './attack.js';

/** Options of the Carlini-Wagner L2 attack. */
export interface CarliniWagnerOptions extends AttackGoal, AttackRunOptions {
  /** Margin κ by which the goal's logit must win, in logits. Default 0. */
  confidence?: number;
  /** Adam's step size on the tanh-space variable w. Default 0.01 (the paper). */
  learningRate?: number;
  /** Adam steps per value of c. Default 100. */
  steps?: number;
  /** Values of c tried per image by binary search (×10 while no success is found). Default 5. */
  binarySearchSteps?: number;
  /** First c, the weight of the margin loss against ‖δ‖² (δ in [0, 1] units). Default 0.1. */
  initialConst?: number;
  /** Stop a value of c early when the loss has not fallen by 0.01 % over a tenth of the steps (at least 10). Default true. */
  abortEarly?: boolean;
}

/**
 * Carlini & Wagner's L2 attack (2017) for a batch: per image, Adam on w with x = (tanh(w) + 1)/2 minimising
 * ‖x − x₀‖² + c·f(x) (margin loss f, pixels in [0, 1]), with a binary search on c; the smallest successful change
 * seen is kept. The model sees each iterate rounded to 8 bits (its gradient passed straight through), so a
 * success is a success of the returned 8-bit image. Images never fooled come back unchanged.
 */
export async function carliniWagnerL2(
  classifier: Classifier,
  images: Tensor,
  options: CarliniWagnerOptions = {},
): Promise<AttackResult[]> {
  checkImageBatch(images);
  const {
    confidence = 0,
    learningRate = 0.01,
    steps = 100,
    binarySearchSteps = 5,
    initialConst = 0.1,
    abortEarly = true,
    batchSize = 8,
    onStep,
    signal,
  } = options;
  const p = classifier.preprocessing;
  const k = classifier.numClasses;
  const slices = Math.ceil(images.dims[0] / batchSize);
  let done = 0;
  return inSlices(images, batchSize, async (slice, start) => {
    const dims = slice.dims;
    const n = dims[0];
    const per = slice.data.length / n;
    const original = argmaxRows(await classifier.logits(slice));
    const goal: ResolvedGoal = resolveGoal(classifier, sliceGoal(options, start, n), original, 'cw');
    const u0 = eightBitPixels(slice, p);
    const x0 = u0.map((v) => v / 255);
    // w₀ = atanh((2x₀ − 1)·(1 − 1e-6)): x(w₀) rounds back to the original pixels.
    const w0 = x0.map((v) => Math.atanh((2 * v - 1) * (1 - 1e-6)));
    const best = u0.slice();
    const bestL2 = new Array<number>(n).fill(Infinity);
    const c = new Array<number>(n).fill(initialConst);
    const lower = new Array<number>(n).fill(0);
    const upper = new Array<number>(n).fill(Infinity);
    const iterations = new Array<number>(n).fill(0);
    // The margin f (floored at −κ) is the graph's CW head; its weight per image is c.
    const head = { kind: 'cw-margin', targeted: goal.targeted, kappa: confidence } as const;
    // The paper checks every tenth of the steps; at least 10 apart, as the loss may rise in the first steps.
    const checkEvery = Math.max(10, Math.ceil(steps / 10));
    for (let round = 0; round < binarySearchSteps; round++) {
      const w = w0.slice();
      const adam = new Adam(w.length, learningRate);
      const succeeded = new Array<boolean>(n).fill(false);
      let previous = Infinity;
      for (let step = 0; step < steps; step++) {
        signal?.throwIfAborted();
        const x = w.map((v) => (Math.tanh(v) + 1) / 2);
        const rounded = x.map((v) => Math.round(v * 255));
        const input = modelInput(rounded, dims, p);
        const out = await classifier.objectiveGradient(input, { head, classes: goal.classes, weights: c });
        const z = out.logits.data;
        let loss = 0;
        for (let i = 0; i < n; i++) {
          const zi = z.subarray(i * k, (i + 1) * k);
          const f = out.loss[i];
          let d2 = 0;
          let r2 = 0;
          for (let j = i * per; j < (i + 1) * per; j++) {
            d2 += (x[j] - x0[j]) ** 2;
            r2 += ((rounded[j] - u0[j]) / 255) ** 2;
          }
          loss += d2 + c[i] * f;
          // f is floored at −κ: reaching the floor means the goal wins by at least κ.
          if (f <= -confidence && achieved(goal, i, argmaxRows({ data: zi, dims: [1, k] })[0])) {
            succeeded[i] = true;
            if (r2 < bestL2[i]) {
              bestL2[i] = r2;
              best.set(rounded.subarray(i * per, (i + 1) * per), i * per);
            }
          }
        }
        const grad = toPixelGradient(out.grad.data, dims, p);
        // ∂/∂w of ‖x − x₀‖² + c·f: (2(x − x₀) + 255·∂f/∂pixel) · (1 − tanh²w)/2, the model's part taken at the rounded x.
        for (let j = 0; j < w.length; j++) {
          const t = 2 * x[j] - 1;
          grad[j] = (2 * (x[j] - x0[j]) + 255 * grad[j]) * ((1 - t * t) / 2);
        }
        adam.step(w, grad, false);
        for (let i = 0; i < n; i++) iterations[i]++;
        onStep?.(++done, slices * binarySearchSteps * steps);
        if (abortEarly && step % checkEvery === 0) {
          if (loss > previous * 0.9999) break;
          previous = loss;
        }
      }
      for (let i = 0; i < n; i++) {
        if (succeeded[i]) {
          upper[i] = Math.min(upper[i], c[i]);
          c[i] = (lower[i] + upper[i]) / 2;
        } else {
          lower[i] = Math.max(lower[i], c[i]);
          c[i] = upper[i] < Infinity ? (lower[i] + upper[i]) / 2 : c[i] * 10;
        }
      }
    }
    return attackResults(classifier, slice, best, goal, original, iterations);
  });
}
