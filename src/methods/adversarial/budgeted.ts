// The loop FGSM, BIM and PGD (L∞ and L2) share: signed or normalised gradient steps on the cross-entropy loss in
// pixel space, each projected onto the budget around the original and clipped to valid pixels, then rounded to an
// 8-bit image that still keeps the budget (the float-domain result before rounding is kept too, as `unrounded`).
import type { Classifier } from '../../model/classifier.js';
import { l2Norm, type Tensor } from '../../tensor.js';
import { argmaxRows, checkImageBatch } from '../common.js';
import { jobSeed, Random } from '../random.js';
import {
  attackResults,
  eightBitPixels,
  inSlices,
  modelInput,
  resolveGoal,
  sliceGoal,
  toPixelGradient,
  unitScale,
  type AttackGoal,
  type AttackResult,
  type AttackRunOptions,
  type PixelUnits,
} from './attack.js';

/** The norm a budget is measured in. */
export type BudgetNorm = 'linf' | 'l2';

/** Options of the budgeted (ε-ball) attacks. */
export interface BudgetedAttackOptions extends AttackGoal, AttackRunOptions {
  /** Budget ε: the largest L∞ or L2 norm of the change, in `units` (results are 8-bit, so an L∞ budget acts as ⌊ε⌋ in 0-255 units). */
  eps?: number;
  /** Step length α in `units`. */
  stepSize?: number;
  /** Gradient steps. */
  steps?: number;
  /** Start from a uniformly random point of the budget ball (Madry et al.). */
  randomStart?: boolean;
  /** Seed of the random start. Default 0. */
  seed?: number;
  /** Units of `eps` and `stepSize`. Default '0-255'. */
  units?: PixelUnits;
}

/** Settings every budgeted attack resolves its options to. */
export interface BudgetedSettings {
  norm: BudgetNorm;
  eps: number;
  stepSize: number;
  steps: number;
  randomStart: boolean;
}

/** Clamps `x` to [lo, hi]. */
const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);

/** Projects `u` (one image, 0-255) onto the budget ball around `u0`, then onto [0, 255], in place. */
function project(u: Float32Array, u0: Float32Array, norm: BudgetNorm, eps: number): void {
  if (norm === 'linf') {
    for (let j = 0; j < u.length; j++)
      u[j] = clamp(u[j], Math.max(0, u0[j] - eps), Math.min(255, u0[j] + eps));
    return;
  }
  let s = 0;
  for (let j = 0; j < u.length; j++) s += (u[j] - u0[j]) ** 2;
  const k = Math.sqrt(s) > eps ? eps / Math.sqrt(s) : 1;
  // Scaling towards u0 keeps a point inside [0, 255] inside; clipping afterwards only shrinks the change.
  for (let j = 0; j < u.length; j++) u[j] = clamp(u0[j] + k * (u[j] - u0[j]), 0, 255);
}

/**
 * `u` (one image, 0-255) rounded to whole pixel values that still keep the budget around the 8-bit `u0`: for L∞
 * each change is clamped to ⌊ε⌋; for L2, if rounding grew the norm past ε, the change is scaled down (bisection)
 * until its rounding fits.
 */
export function roundWithinBudget(
  u: Float32Array,
  u0: Float32Array,
  norm: BudgetNorm,
  eps: number,
): Float32Array {
  const out = new Float32Array(u.length);
  if (norm === 'linf') {
    const e = Math.floor(eps + 1e-6);
    for (let j = 0; j < u.length; j++)
      out[j] = clamp(Math.round(u[j]), Math.max(0, u0[j] - e), Math.min(255, u0[j] + e));
    return out;
  }
  const roundedNorm = (s: number) => {
    let t = 0;
    for (let j = 0; j < u.length; j++) t += Math.round(s * (u[j] - u0[j])) ** 2;
    return Math.sqrt(t);
  };
  let scale = 1;
  if (roundedNorm(1) > eps) {
    let lo = 0;
    let hi = 1;
    for (let it = 0; it < 24; it++) {
      const mid = (lo + hi) / 2;
      if (roundedNorm(mid) <= eps) lo = mid;
      else hi = mid;
    }
    scale = lo;
  }
  for (let j = 0; j < u.length; j++) out[j] = u0[j] + Math.round(scale * (u[j] - u0[j]));
  return out;
}

/** Runs a budgeted attack with resolved settings (in `options.units`) on a batch; `what` names it in errors. */
export async function budgetedAttack(
  classifier: Classifier,
  images: Tensor,
  settings: BudgetedSettings,
  options: BudgetedAttackOptions,
  what: string,
): Promise<AttackResult[]> {
  checkImageBatch(images);
  const scale = unitScale(options.units);
  const eps = settings.eps * scale;
  const alpha = settings.stepSize * scale;
  const { norm, steps, randomStart } = settings;
  if (!(eps >= 0 && Number.isFinite(eps)))
    throw new Error(`${what}: eps ${settings.eps}, expected a number ≥ 0`);
  if (!(alpha > 0 && Number.isFinite(alpha)))
    throw new Error(`${what}: stepSize ${settings.stepSize}, expected a positive number`);
  if (!(Number.isInteger(steps) && steps >= 1))
    throw new Error(`${what}: steps ${steps}, expected a positive integer`);
  const { batchSize = 8, onStep, signal } = options;
  const n = images.dims[0];
  const slices = Math.ceil(n / batchSize);
  const p = classifier.preprocessing;
  let done = 0;
  return inSlices(images, batchSize, async (slice, start) => {
    const dims = slice.dims;
    const rows = Array.from({ length: dims[0] }, (_, i) => i);
    const per = slice.data.length / dims[0];
    const u0 = eightBitPixels(slice, p);
    const original = argmaxRows(await classifier.logits(slice));
    const goal = resolveGoal(classifier, sliceGoal(options, start, dims[0]), original, what);
    const u = u0.slice();
    const row = (a: Float32Array, i: number) => a.subarray(i * per, (i + 1) * per);
    // Climb the cross-entropy of the label (untargeted) or descend that of the target, in the graph's CE head.
    const objective = {
      head: { kind: 'cross-entropy' } as const,
      classes: goal.classes,
      weights: rows.map(() => (goal.targeted ? -1 : 1)),
    };
    if (randomStart) {
      for (const i of rows) {
        // Each image's start comes from its own pixels and the seed, so it does not depend on the batch it is in.
        const rng = new Random(jobSeed(options.seed ?? 0, row(u0, i), 0));
        const d = row(u, i);
        if (norm === 'linf') for (let j = 0; j < per; j++) d[j] += (2 * rng.next() - 1) * eps;
        else {
          // A uniform direction, a radius uniform in [0, ε] (as torchattacks' PGDL2).
          const dir = rng.normals(per);
          const k = (rng.next() * eps) / l2Norm(dir);
          for (let j = 0; j < per; j++) d[j] += k * dir[j];
        }
        project(d, row(u0, i), norm, eps);
      }
    }
    for (let step = 0; step < steps; step++) {
      signal?.throwIfAborted();
      const x = modelInput(u, dims, p);
      const { grad: g } = await classifier.objectiveGradient(x, objective);
      const grad = toPixelGradient(g.data, dims, p);
      for (const i of rows) {
        const g = row(grad, i);
        const d = row(u, i);
        if (norm === 'linf') for (let j = 0; j < per; j++) d[j] += alpha * Math.sign(g[j]);
        else {
          const gn = l2Norm(g);
          if (gn > 0) for (let j = 0; j < per; j++) d[j] += (alpha * g[j]) / gn;
        }
        project(d, row(u0, i), norm, eps);
      }
      onStep?.(++done, steps * slices);
    }
    const final = new Float32Array(u.length);
    for (const i of rows) final.set(roundWithinBudget(row(u, i), row(u0, i), norm, eps), i * per);
    return attackResults(classifier, slice, final, goal, original, new Array<number>(dims[0]).fill(steps), u);
  });
}
