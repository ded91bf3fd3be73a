// The attacks that run on each image until it breaks (APGD, FAB, Square) share a few batch rows: every graph run
// evaluates each running job's next point, and a job that ends frees its row for the next job waiting. A broken
// image costs nothing more, and the batch keeps one shape while there is work for all its rows (a new shape is a
// new compiled session).
import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { argmaxRows, checkImageBatch, type ClassRef } from '../common.js';
import {
  attackResults,
  eightBitPixels,
  modelInput,
  resolveGoal,
  unitScale,
  type AttackResult,
  type PixelUnits,
} from './attack.js';
import { roundWithinBudget, type BudgetNorm } from './budgeted.js';

/** One attack run on one image: fed the graph's outputs at `point` until it says it is done. */
export interface Job<R> {
  /** Which image of the batch it attacks; the jobs of one image run one after another, in queue order. */
  readonly image: number;
  /** Most evaluations it can take (for progress). */
  readonly budget: number;
  /** The pixel values (0-255, CHW) to evaluate next. */
  point: Float32Array;
  /** Takes the outputs at `point`; true when the job has ended. */
  update(outputs: R): boolean;
}

/** How a queue of jobs runs. */
export interface JobOptions<J> {
  /** Most rows per graph run. */
  batchSize: number;
  /** Jobs not to start (e.g. of an image already broken); they count as done. */
  skip?: (job: J) => boolean;
  /** Called after each run with the evaluations done (or skipped) and the most there can be. */
  onStep?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * Runs `queue` on at most `batchSize` rows: `evaluate(x, jobs)` gets the normalised points of the running jobs
 * (N×3×H×W, one row per job) and returns one output per job. The rows only ever shrink within a queue (a waiting job
 * starts as soon as a row frees), so a queue compiles at most `batchSize` batch shapes.
 */
export async function runJobs<R, J extends Job<R>>(
  classifier: Classifier,
  dims: number[],
  queue: readonly J[],
  options: JobOptions<J>,
  evaluate: (x: Tensor, jobs: J[]) => Promise<R[]>,
): Promise<void> {
  const { batchSize, skip, onStep, signal } = options;
  const per = dims[1] * dims[2] * dims[3];
  const total = queue.reduce((s, j) => s + j.budget, 0);
  const waiting = [...queue];
  const running: { job: J; used: number }[] = [];
  let done = 0;
  const fill = () => {
    for (let k = 0; k < waiting.length && running.length < batchSize;) {
      const job = waiting[k];
      if (skip?.(job)) {
        done += job.budget;
        waiting.splice(k, 1);
      } else if (running.some((r) => r.job.image === job.image)) k++;
      else {
        running.push({ job, used: 0 });
        waiting.splice(k, 1);
      }
    }
  };
  for (fill(); running.length > 0; fill()) {
    signal?.throwIfAborted();
    const pixels = new Float32Array(running.length * per);
    running.forEach((r, k) => pixels.set(r.job.point, k * per));
    const outputs = await evaluate(
      modelInput(pixels, [running.length, ...dims.slice(1)], classifier.preprocessing),
      running.map((r) => r.job),
    );
    for (let k = running.length - 1; k >= 0; k--) {
      const r = running[k];
      r.used++;
      done++;
      if (r.job.update(outputs[k]) || r.used >= r.job.budget) {
        done += r.job.budget - r.used;
        running.splice(k, 1);
      }
    }
    onStep?.(done, total);
  }
}

/** What the jobs of an attack that works until each image breaks are made from. */
export interface BreakContext {
  /** The images' 8-bit pixel values (N×3×H×W, CHW). */
  u0: Float32Array;
  /** Values per image. */
  per: number;
  /** The clean logits, N×K. */
  logits: Tensor;
  /** The class each image must leave. */
  labels: number[];
  /** Per image, the adversarial point (0-255 floats) once a job has found one. */
  found: (Float32Array | undefined)[];
}

/** Settings of an attack that works until each image breaks, in 0-255 pixel units. */
export interface BreakSettings {
  labels?: readonly ClassRef[];
  norm: BudgetNorm;
  /** The budget, in pixel units; the results are rounded to 8 bits within it. */
  eps: number;
  batchSize: number;
  onStep?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * Runs an untargeted attack that works on each correctly classified image until a job breaks it (its jobs from
 * `makeJobs`, evaluated by `evaluate`) and returns each image's result: the float-domain point found (`unrounded`),
 * and that point rounded to 8 bits within the budget. Images the model already gets wrong are not attacked.
 */
export async function attackUntilBroken<R, J extends Job<R>>(
  classifier: Classifier,
  images: Tensor,
  settings: BreakSettings,
  what: string,
  makeJobs: (ctx: BreakContext, attacked: number[]) => J[],
  evaluate: (x: Tensor, jobs: J[]) => Promise<R[]>,
): Promise<AttackResult[]> {
  checkImageBatch(images);
  const { norm, eps, batchSize, onStep, signal } = settings;
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new Error(`${what}: batchSize ${batchSize}, expected a positive integer`);
  const n = images.dims[0];
  const per = images.data.length / n;
  const logits = await classifier.logits(images);
  const original = argmaxRows(logits);
  const goal = resolveGoal(classifier, { labels: settings.labels }, original, what);
  const ctx: BreakContext = {
    u0: eightBitPixels(images, classifier.preprocessing),
    per,
    logits,
    labels: goal.classes,
    found: new Array<Float32Array | undefined>(n),
  };
  const row = (a: Float32Array, i: number) => a.subarray(i * per, (i + 1) * per);
  const attacked = original.flatMap((c, i) => (c === goal.classes[i] ? [i] : []));
  const evaluations = new Array<number>(n).fill(0);
  await runJobs(
    classifier,
    images.dims,
    makeJobs(ctx, attacked),
    { batchSize, onStep, signal, skip: (job) => ctx.found[job.image] !== undefined },
    (x, jobs) => {
      for (const job of jobs) evaluations[job.image]++;
      return evaluate(x, jobs);
    },
  );
  const unrounded = ctx.u0.slice();
  const rounded = new Float32Array(ctx.u0.length);
  for (let i = 0; i < n; i++) {
    const u0 = row(ctx.u0, i);
    const u = ctx.found[i] ?? u0;
    unrounded.set(u, i * per);
    rounded.set(roundWithinBudget(u, u0, norm, eps), i * per);
  }
  return attackResults(classifier, images, rounded, goal, original, evaluations, unrounded);
}

/**
 * The norm and budget (0-255 pixel units) of an attack that works until each image breaks: `norm` default 'linf',
 * `eps` in `units` default 8 (L∞) or 127.5 (L2), AutoAttack's usual 8/255 and 0.5. Throws (naming `what`) for another
 * norm or a budget that is not positive and finite.
 */
export function budgetOf(
  options: { norm?: BudgetNorm; eps?: number; units?: PixelUnits },
  what: string,
): { norm: BudgetNorm; eps: number } {
  const norm = options.norm ?? 'linf';
  if (norm !== 'linf' && norm !== 'l2') throw new Error(`${what}: norm '${norm}', expected 'linf' or 'l2'`);
  const eps =
    options.eps === undefined ? (norm === 'linf' ? 8 : 127.5) : options.eps * unitScale(options.units);
  if (!(eps > 0 && Number.isFinite(eps)))
    throw new Error(`${what}: eps ${options.eps}, expected a positive number`);
  return { norm, eps };
}
