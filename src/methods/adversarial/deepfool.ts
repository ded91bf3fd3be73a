import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { argmaxRows, checkImageBatch } from '../common.js';
import {
  attackResults,
  eightBitPixels,
  modelInput,
  resolveGoal,
  toPixelGradient,
  type AttackResult,
  type AttackRunOptions,
} from './attack.js';

/** Options of DeepFool, with Foolbox's defaults. */
export interface DeepFoolOptions extends Omit<AttackRunOptions, 'batchSize'> {
  /** Classes considered: the original prediction and the next `candidates − 1` by its logits. Default 10. */
  candidates?: number;
  /** The accumulated step is scaled by 1 + overshoot. Default 0.02. */
  overshoot?: number;
  /** Most linearisation steps per image. Default 50. */
  maxIterations?: number;
}

const clamp255 = (x: number) => (x < 0 ? 0 : x > 255 ? 255 : x);

/**
 * DeepFool (Moosavi-Dezfooli et al. 2016), untargeted and minimal in L2 (in 0-255 pixel space): per image, linearise
 * the margins to the candidate classes, step to the nearest linearised boundary, repeat from the new point until
 * the model's class changes. Each iterate is rounded to 8 bits and the margins are taken there, so the image that
 * stops the loop is the one returned.
 */
export async function deepFool(
  classifier: Classifier,
  images: Tensor,
  options: DeepFoolOptions = {},
): Promise<AttackResult[]> {
  checkImageBatch(images);
  const { candidates = 10, overshoot = 0.02, maxIterations = 50, onStep, signal } = options;
  if (!(Number.isInteger(candidates) && candidates >= 2 && candidates <= classifier.numClasses))
    throw new Error(
      `deepfool: candidates ${candidates}, expected an integer from 2 to ${classifier.numClasses}`,
    );
  const [n, , h, w] = images.dims;
  const per = 3 * h * w;
  const k = classifier.numClasses;
  const p = classifier.preprocessing;
  const rows = candidates - 1;
  const batchDims = [rows, 3, h, w];
  const logits = await classifier.logits(images);
  const original = argmaxRows(logits);
  const goal = resolveGoal(classifier, {}, original, 'deepfool');
  const u0All = eightBitPixels(images, p);
  const final = new Float32Array(u0All.length);
  const iterations: number[] = [];
  let done = 0;
  for (let i = 0; i < n; i++) {
    const u0 = u0All.subarray(i * per, (i + 1) * per);
    const o = original[i];
    const row = Array.from(logits.data.subarray(i * k, (i + 1) * k));
    const others = row
      .map((v, j) => [v, j] as const)
      .filter(([, j]) => j !== o)
      .sort((a, b) => b[0] - a[0])
      .slice(0, rows)
      .map(([, j]) => j);
    // One batch row per candidate, each seeded with e_candidate − e_original: gradients of all margins at once.
    const seeds = new Float32Array(rows * k);
    others.forEach((c, r) => {
      seeds[r * k + c] = 1;
      seeds[r * k + o] = -1;
    });
    const total = new Float64Array(per);
    let current = u0.slice();
    let it = 0;
    for (;;) {
      signal?.throwIfAborted();
      const x = modelInput(current, [1, 3, h, w], p);
      const batch = new Float32Array(rows * per);
      for (let r = 0; r < rows; r++) batch.set(x.data, r * per);
      const out = await classifier.inputGradient(
        { data: batch, dims: batchDims },
        { data: seeds, dims: [rows, k] },
      );
      const z = out.logits.data.subarray(0, k);
      if (argmaxRows({ data: z, dims: [1, k] })[0] !== o || it === maxIterations) break;
      const grads = toPixelGradient(out.grad.data, batchDims, p);
      // The nearest linearised boundary: argmin over candidates of |f_c| / ‖w_c‖ with f_c = z_c − z_o, w_c = ∇f_c.
      let best = -1;
      let bestDist = Infinity;
      let bestNorm2 = 0;
      others.forEach((c, r) => {
        let s = 0;
        for (let j = r * per; j < (r + 1) * per; j++) s += grads[j] * grads[j];
        const dist = Math.abs(z[c] - z[o]) / Math.sqrt(s);
        if (s > 0 && dist < bestDist) [best, bestDist, bestNorm2] = [r, dist, s];
      });
      if (best < 0) break;
      const f = Math.abs(z[others[best]] - z[o]);
      const step = (f + 1e-4) / bestNorm2;
      // At an unchanged point the linearisation, and so the step, would be the same again: repeat the step
      // without the model until the rounded image changes (each repeat counts as an iteration).
      const next = new Float32Array(per);
      let changed = false;
      while (!changed && it < maxIterations) {
        for (let j = 0; j < per; j++) {
          total[j] += step * grads[best * per + j];
          next[j] = Math.round(clamp255(u0[j] + (1 + overshoot) * total[j]));
          changed ||= next[j] !== current[j];
        }
        it++;
        onStep?.(++done, n * maxIterations);
      }
      current = next;
    }
    final.set(current, i * per);
    iterations.push(it);
  }
  return attackResults(classifier, images, final, goal, original, iterations);
}
