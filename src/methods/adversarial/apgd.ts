import type { ObjectiveHead } from '../../autodiff/types.js';
import type { Classifier } from '../../model/classifier.js';
import { randomNodes } from '../../onnx/random-nodes.js';
import { l2Norm, type Tensor } from '../../tensor.js';
import { argmaxRows, type ClassRef } from '../common.js';
import { jobSeed, Random } from '../random.js';
import { toPixelGradient, type AttackResult, type AttackRunOptions, type PixelUnits } from './attack.js';
import type { BudgetNorm } from './budgeted.js';
import { attackUntilBroken, budgetOf, type BreakContext, type Job } from './jobs.js';

/** Options of APGD. */
export interface ApgdOptions extends AttackRunOptions {
  /** The true class of each image; default the model's prediction on each original. */
  labels?: readonly ClassRef[];
  /** The budget's norm. Default 'linf'. */
  norm?: BudgetNorm;
  /** Budget ε in `units`. Default 8 (L∞, 8/255) or 127.5 (L2, 0.5 in [0, 1]), AutoAttack's usual budgets. */
  eps?: number;
  /** Units of `eps`. Default '0-255'. */
  units?: PixelUnits;
  /** Loss climbed by the untargeted attack: cross-entropy or DLR. Default 'ce'. */
  loss?: 'ce' | 'dlr';
  /** Iterations per run (the checkpoints follow from it). Default 100. */
  iterations?: number;
  /** Runs per image from new random starts, while it is not broken. Default 1. */
  restarts?: number;
  /** ρ: the step size halves at a checkpoint where the loss rose in at most this fraction of the steps since the last one. Default 0.75. */
  rho?: number;
  /**
   * Gradients averaged per step (expectation over transformation, for randomised models). Default 1. On a model with
   * no random node (`randomNodes`) every draw gives the same gradient, so one is taken: AutoAttack averages its draws
   * at one point, and the mean of equal gradients is that gradient.
   */
  eot?: number;
  /** Seed of the random starts. Default 0. */
  seed?: number;
}

/** Options of targeted APGD (APGD-T). */
export interface ApgdTargetedOptions extends Omit<ApgdOptions, 'loss'> {
  /** Targets tried per image, in turn: the classes ranked 2nd, 3rd, ... by the clean logits. Default 9. */
  targetClasses?: number;
}

/** One image's per-step outputs: its logits, its loss, and the gradient with respect to its pixel values. */
interface StepOutputs {
  logits: Float32Array;
  loss: number;
  grad: Float32Array;
}

/** APGD's settings resolved to pixel units. */
interface ApgdSettings {
  norm: BudgetNorm;
  eps: number;
  iterations: number;
  rho: number;
  eot: number;
}

const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);

/**
 * One APGD run on one image (Croce & Hein 2020, Algorithm 1), in 0-255 pixel values: a random start in the ε-ball,
 * then steps with momentum 0.75 from a step size η = 2ε that halves at checkpoints where the loss oscillated or the
 * best loss stalled, restarting from the best point. Ends at the first misclassified point (the result cannot
 * change after it) or after `iterations` steps.
 */
class ApgdJob implements Job<StepOutputs> {
  readonly budget: number;
  point: Float32Array;
  private x: Float32Array;
  private xOld: Float32Array;
  private xBest!: Float32Array;
  private grad!: Float32Array;
  private gradBest!: Float32Array;
  private gradSum: Float32Array;
  private evaluations = 0;
  private step = -1;
  private lossPrevious = 0;
  private lossBest = -Infinity;
  private lossBestLastCheck = -Infinity;
  private reducedLastCheck = true;
  private increases = 0;
  private sinceCheck = 0;
  private window: number;
  private stepSize: number;
  private readonly lo: Float32Array;
  private readonly hi: Float32Array;
  private readonly shrink: number;
  private readonly minWindow: number;

  /** `label`: the class the image must leave; `target`: the class the loss reads (the label, or APGD-T's target). */
  constructor(
    readonly image: number,
    private readonly u0: Float32Array,
    readonly label: number,
    readonly target: number,
    private readonly s: ApgdSettings,
    private readonly found: BreakContext['found'],
    rng: Random,
  ) {
    const { norm, eps, iterations } = s;
    this.budget = (iterations + 1) * s.eot;
    // Checkpoints: the first after 22 % of the iterations, each next window 3 % shorter, at least 6 %.
    this.window = Math.max(Math.floor(0.22 * iterations), 1);
    this.shrink = Math.max(Math.floor(0.03 * iterations), 1);
    this.minWindow = Math.max(Math.floor(0.06 * iterations), 1);
    this.stepSize = 2 * eps;
    this.lo = u0.map((v) => Math.max(0, v - eps));
    this.hi = u0.map((v) => Math.min(255, v + eps));
    // The random start: a uniform (L∞) or Gaussian (L2) direction scaled to the sphere of radius ε.
    const t = norm === 'linf' ? Float32Array.from(u0, () => 2 * rng.next() - 1) : rng.normals(u0.length);
    const size = norm === 'linf' ? t.reduce((m, v) => Math.max(m, Math.abs(v)), 0) : l2Norm(t);
    this.x = u0.map((v, j) => clamp(v + (eps * t[j]) / (size + 1e-12), 0, 255));
    this.xOld = this.x;
    this.point = this.x;
    this.gradSum = new Float32Array(s.eot > 1 ? u0.length : 0);
  }

  update({ logits, loss, grad }: StepOutputs): boolean {
    let g: Float32Array;
    if (this.s.eot === 1)
      g = grad.slice(); // the common case: no sum to keep (a copy: `grad` views a shared batch)
    else {
      for (let j = 0; j < grad.length; j++) this.gradSum[j] += grad[j];
      if (++this.evaluations % this.s.eot !== 0) return false;
      const { eot } = this.s;
      g = this.gradSum.map((v) => v / eot);
      this.gradSum.fill(0);
    }
    if (argmaxRows({ data: logits, dims: [1, logits.length] })[0] !== this.label) {
      this.found[this.image] = this.x;
      return true;
    }
    if (this.step < 0) {
      [this.grad, this.xBest, this.gradBest] = [g, this.x, g];
      [this.lossBest, this.lossPrevious, this.lossBestLastCheck] = [loss, loss, loss];
    } else this.afterStep(g, loss);
    if (++this.step === this.s.iterations) return true;
    this.takeStep();
    return false;
  }

  // Bookkeeping after step `this.step`'s point was evaluated: the best point, and at a checkpoint the step size.
  private afterStep(g: Float32Array, loss: number): void {
    this.grad = g;
    if (loss > this.lossPrevious) this.increases++;
    this.lossPrevious = loss;
    if (loss > this.lossBest) [this.xBest, this.gradBest, this.lossBest] = [this.x, g, loss];
    if (++this.sinceCheck < this.window) return;
    // Halve the step when the loss rose in at most ρ of the window's steps (condition 1), or when the step was not
    // halved at the last checkpoint and the best loss has not improved since (condition 2); go back to the best point.
    const oscillating = this.increases <= this.window * this.s.rho;
    const stalled = !this.reducedLastCheck && this.lossBestLastCheck >= this.lossBest;
    this.reducedLastCheck = oscillating || stalled;
    this.lossBestLastCheck = this.lossBest;
    if (this.reducedLastCheck) {
      this.stepSize /= 2;
      this.x = this.xBest;
      this.grad = this.gradBest;
    }
    this.window = Math.max(this.window - this.shrink, this.minWindow);
    this.sinceCheck = 0;
    this.increases = 0;
  }

  // x ← P(x + a·(P(x + η·s(∇)) − x) + (1 − a)·(x − x_old)), a = 1 on the first step and 0.75 after.
  private takeStep(): void {
    const { x, xOld, grad, stepSize: eta } = this;
    const a = this.step === 0 ? 1 : 0.75;
    const next = new Float32Array(x.length);
    if (this.s.norm === 'linf') {
      const { lo, hi } = this;
      for (let j = 0; j < x.length; j++) {
        const z = clamp(x[j] + eta * Math.sign(grad[j]), lo[j], hi[j]);
        next[j] = clamp(x[j] + a * (z - x[j]) + (1 - a) * (x[j] - xOld[j]), lo[j], hi[j]);
      }
    } else {
      const k = eta / (l2Norm(grad) + 1e-12);
      for (let j = 0; j < x.length; j++) next[j] = x[j] + k * grad[j];
      this.projectL2(next);
      for (let j = 0; j < x.length; j++) next[j] = x[j] + a * (next[j] - x[j]) + (1 - a) * (x[j] - xOld[j]);
      this.projectL2(next);
    }
    this.xOld = x;
    this.x = next;
    this.point = next;
  }

  // Onto the L2 ball of radius ε around the original, then into [0, 255], in place.
  private projectL2(u: Float32Array): void {
    const { u0 } = this;
    let s = 0;
    for (let j = 0; j < u.length; j++) s += (u[j] - u0[j]) ** 2;
    const norm = Math.sqrt(s);
    const k = Math.min(this.s.eps, norm) / (norm + 1e-12);
    for (let j = 0; j < u.length; j++) u[j] = clamp(u0[j] + k * (u[j] - u0[j]), 0, 255);
  }
}

/** Resolves and checks APGD's options; `what` names the attack in errors. */
function settingsOf(options: ApgdOptions, what: string): ApgdSettings & { restarts: number } {
  const { norm, eps } = budgetOf(options, what);
  const { iterations = 100, restarts = 1, rho = 0.75, eot = 1 } = options;
  for (const [name, v] of Object.entries({ iterations, restarts, eot }))
    if (!(Number.isInteger(v) && v >= 1))
      throw new Error(`${what}: ${name} ${v}, expected a positive integer`);
  if (!(rho > 0 && rho < 1)) throw new Error(`${what}: rho ${rho}, expected a number in (0, 1)`);
  return { norm, eps, iterations, restarts, rho, eot };
}

/** Runs APGD jobs with an objective head: one graph run gives each job's logits, loss and gradient. */
function apgdRun(
  classifier: Classifier,
  images: Tensor,
  options: ApgdOptions,
  what: string,
  head: ObjectiveHead,
  jobsFor: (ctx: BreakContext, image: number, make: (job: number, target?: number) => ApgdJob) => ApgdJob[],
): Promise<AttackResult[]> {
  const settings = settingsOf(options, what);
  if (randomNodes(classifier.model).length === 0) settings.eot = 1;
  const { batchSize = 8, onStep, signal, seed = 0 } = options;
  const k = classifier.numClasses;
  const p = classifier.preprocessing;
  return attackUntilBroken(
    classifier,
    images,
    { labels: options.labels, norm: settings.norm, eps: settings.eps, batchSize, onStep, signal },
    what,
    (ctx, attacked) => {
      const perImage = attacked.map((i) =>
        jobsFor(ctx, i, (job, target) => {
          const u0 = ctx.u0.subarray(i * ctx.per, (i + 1) * ctx.per);
          const rng = new Random(jobSeed(seed, u0, job));
          const label = ctx.labels[i];
          return new ApgdJob(i, u0, label, target ?? label, settings, ctx.found, rng);
        }),
      );
      // Run-major order, as AutoAttack: every image's first run (or target), then every second, ...
      return perImage[0]?.flatMap((_, r) => perImage.map((jobs) => jobs[r])) ?? [];
    },
    async (x, jobs) => {
      const out = await classifier.objectiveGradient(x, {
        head,
        classes: jobs.map((j) => j.target),
        ...(head.kind === 'dlr' && head.targeted && { labels: jobs.map((j) => j.label) }),
      });
      const grad = toPixelGradient(out.grad.data, x.dims, p);
      const per = grad.length / jobs.length;
      return jobs.map((_, r) => ({
        logits: out.logits.data.subarray(r * k, (r + 1) * k),
        loss: out.loss[r],
        grad: grad.subarray(r * per, (r + 1) * per),
      }));
    },
  );
}

/**
 * Auto-PGD (Croce & Hein 2020), untargeted, on the cross-entropy (APGD-CE) or the DLR loss (APGD-DLR), L∞ or L2,
 * for a batch: per image, `restarts` runs of `iterations` steps from random starts in the ε-ball, with the paper's
 * step-size schedule (η = 2ε, halved at checkpoints after 22 %, then windows 3 % shorter down to 6 % of the
 * iterations, when the loss oscillated or stalled) and momentum 0.75. Each step is one graph run (logits, the loss
 * as a compiled objective head, and its gradient). An image counts as broken at the first misclassified point, in
 * the float domain as AutoAttack counts it; results carry that point (`unrounded`) and its rounding to 8 bits within
 * ε. Where AutoAttack's code counts the first window's loss increases against 0 rather than the starting loss, this
 * follows the paper. Defaults: AutoAttack's (100 iterations, ρ 0.75, 1 restart, ε 8/255 for L∞).
 */
export async function apgd(
  classifier: Classifier,
  images: Tensor,
  options: ApgdOptions = {},
): Promise<AttackResult[]> {
  const loss = options.loss ?? 'ce';
  if (loss !== 'ce' && loss !== 'dlr') throw new Error(`apgd: loss '${loss}', expected 'ce' or 'dlr'`);
  const what = `apgd-${loss}`;
  const restarts = settingsOf(options, what).restarts;
  const head: ObjectiveHead = loss === 'ce' ? { kind: 'cross-entropy' } : { kind: 'dlr', targeted: false };
  return apgdRun(classifier, images, options, what, head, (_, __, make) =>
    Array.from({ length: restarts }, (_, r) => make(r)),
  );
}

/**
 * Targeted APGD on the targeted DLR loss (APGD-T, Croce & Hein 2020), for a batch: per image, the classes ranked
 * 2nd to (`targetClasses` + 1)th by its clean logits are tried in turn as targets, each with `restarts` APGD runs
 * (as `apgd`), until one misclassifies the image (any class other than its label counts, as in AutoAttack).
 * Defaults: AutoAttack's standard version (9 target classes, 1 restart, 100 iterations).
 */
export async function apgdTargeted(
  classifier: Classifier,
  images: Tensor,
  options: ApgdTargetedOptions = {},
): Promise<AttackResult[]> {
  const { restarts } = settingsOf(options, 'apgd-t');
  const { targetClasses = 9 } = options;
  const k = classifier.numClasses;
  if (!(Number.isInteger(targetClasses) && targetClasses >= 1 && targetClasses <= k - 1))
    throw new Error(`apgd-t: targetClasses ${targetClasses}, expected an integer from 1 to ${k - 1}`);
  return apgdRun(classifier, images, options, 'apgd-t', { kind: 'dlr', targeted: true }, (ctx, i, make) => {
    const ranked = rankedClasses(ctx.logits.data.subarray(i * k, (i + 1) * k));
    return Array.from({ length: targetClasses * restarts }, (_, j) =>
      make(j, ranked[1 + Math.floor(j / restarts)]),
    );
  });
}

/** Class indices by decreasing score (ties: the lower index first). */
export function rankedClasses(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, j) => j).sort((a, b) => scores[b] - scores[a] || a - b);
}
