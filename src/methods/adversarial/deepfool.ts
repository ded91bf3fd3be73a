import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { argmaxRows, checkImageBatch } from '../common.js';
import type { BudgetNorm } from './budgeted.js';
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

/** DeepFool's view of one image: its class `o`, the candidate classes, and the seeds that give all margins' gradients. */
class Linearisation {
  readonly others: number[];
  private readonly seeds: Float32Array;

  constructor(
    private readonly classifier: Classifier,
    private readonly dims: number[],
    readonly o: number,
    scores: ArrayLike<number>,
    candidates: number,
  ) {
    this.others = Array.from(scores, (v, j) => [v, j] as const)
      .filter(([, j]) => j !== o)
      .sort((a, b) => b[0] - a[0])
      .slice(0, candidates - 1)
      .map(([, j]) => j);
    // One batch row per candidate, each seeded with e_candidate − e_original: gradients of all margins at once.
    const k = classifier.numClasses;
    this.seeds = new Float32Array(this.others.length * k);
    this.others.forEach((c, r) => {
      this.seeds[r * k + c] = 1;
      this.seeds[r * k + o] = -1;
    });
  }

  /**
   * At pixel values `u` (one image, 0-255): the class predicted there and, while it is still `o`, the step to the
   * nearest linearised boundary, r = (|f_c| + 1e-4) / ‖∇f_c‖² · ∇f_c with f_c = z_c − z_o (pixel units), c the
   * candidate of smallest |f_c| / ‖∇f_c‖.
   */
  async step(u: Float32Array, norm: BudgetNorm = 'l2'): Promise<{ predicted: number; step?: Float32Array }> {
    const { classifier, o, others } = this;
    const k = classifier.numClasses;
    const p = classifier.preprocessing;
    const rows = others.length;
    const per = u.length;
    const batchDims = [rows, ...this.dims.slice(1)];
    const x = modelInput(u, this.dims, p);
    const batch = new Float32Array(rows * per);
    for (let r = 0; r < rows; r++) batch.set(x.data, r * per);
    const out = await classifier.inputGradient(
      { data: batch, dims: batchDims },
      { data: this.seeds, dims: [rows, k] },
    );
    const z = out.logits.data.subarray(0, k);
    const predicted = argmaxRows({ data: z, dims: [1, k] })[0];
    if (predicted !== o) return { predicted };
    const grads = toPixelGradient(out.grad.data, batchDims, p);
    // The distance to a linearised boundary is |f_c| / ‖∇f_c‖ in the dual norm: L2 for L2, L1 for L∞.
    let best = -1;
    let bestDist = Infinity;
    let bestNorm = 0;
    others.forEach((c, r) => {
      let s = 0;
      for (let j = r * per; j < (r + 1) * per; j++)
        s += norm === 'l2' ? grads[j] * grads[j] : Math.abs(grads[j]);
      const dual = norm === 'l2' ? Math.sqrt(s) : s;
      const dist = Math.abs(z[c] - z[o]) / dual;
      if (dual > 0 && dist < bestDist) [best, bestDist, bestNorm] = [r, dist, dual];
    });
    if (best < 0) return { predicted };
    const f = Math.abs(z[others[best]] - z[o]) + 1e-4;
    const g = grads.subarray(best * per, (best + 1) * per);
    return {
      predicted,
      step:
        norm === 'l2' ? g.map((v) => (f / bestNorm ** 2) * v) : g.map((v) => (f / bestNorm) * Math.sign(v)),
    };
  }
}

function checkCandidates(classifier: Classifier, candidates: number): void {
  if (!(Number.isInteger(candidates) && candidates >= 2 && candidates <= classifier.numClasses))
    throw new Error(
      `deepfool: candidates ${candidates}, expected an integer from 2 to ${classifier.numClasses}`,
    );
}

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
  checkCandidates(classifier, candidates);
  const [n, , h, w] = images.dims;
  const per = 3 * h * w;
  const k = classifier.numClasses;
  const p = classifier.preprocessing;
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
    const view = new Linearisation(
      classifier,
      [1, 3, h, w],
      o,
      logits.data.subarray(i * k, (i + 1) * k),
      candidates,
    );
    const total = new Float64Array(per);
    let current = u0.slice();
    let it = 0;
    for (;;) {
      signal?.throwIfAborted();
      const { predicted, step } = await view.step(current);
      if (predicted !== o || it === maxIterations || !step) break;
      // At an unchanged point the linearisation, and so the step, would be the same again: repeat the step
      // without the model until the rounded image changes (each repeat counts as an iteration).
      const next = new Float32Array(per);
      let changed = false;
      while (!changed && it < maxIterations) {
        for (let j = 0; j < per; j++) {
          total[j] += step[j];
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

/**
 * DeepFool's minimal change for one image in the float domain, as the universal perturbation uses it: from pixel
 * values `u` (1×3×H×W, 0-255, any reals), steps to the nearest linearised boundary accumulate into r, and the class
 * is checked at clip(u + (1 + overshoot)·r), until it differs from the class at `u` or `maxIterations` pass.
 * Returns (1 + overshoot)·r (pixel units) and whether it changed the class.
 */
export async function deepFoolChange(
  classifier: Classifier,
  u: Float32Array,
  dims: number[],
  options: Omit<DeepFoolOptions, 'onStep'> & { norm?: BudgetNorm } = {},
): Promise<{ change: Float32Array; fooled: boolean }> {
  const { candidates = 10, overshoot = 0.02, maxIterations = 50, signal, norm = 'l2' } = options;
  checkCandidates(classifier, candidates);
  const logits = await classifier.logits(modelInput(u, dims, classifier.preprocessing));
  const o = argmaxRows(logits)[0];
  const view = new Linearisation(classifier, dims, o, logits.data, candidates);
  const total = new Float64Array(u.length);
  const change = () => Float32Array.from(total, (t) => (1 + overshoot) * t);
  let current = u;
  for (let it = 0; it <= maxIterations; it++) {
    signal?.throwIfAborted();
    const { predicted, step } = await view.step(current, norm);
    if (predicted !== o) return { change: change(), fooled: true };
    if (!step || it === maxIterations) break;
    for (let j = 0; j < total.length; j++) total[j] += step[j];
    current = u.map((x, j) => clamp255(x + (1 + overshoot) * total[j]));
  }
  return { change: change(), fooled: false };
}
