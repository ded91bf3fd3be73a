import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { argmaxRows, type ClassRef } from '../common.js';
import { toPixelGradient, type AttackResult, type AttackRunOptions, type PixelUnits } from './attack.js';
import { rankedClasses } from './apgd.js';
import type { BudgetNorm } from './budgeted.js';
import { projectOntoHyperplane } from './fab-projection.js';
import { attackUntilBroken, budgetOf, type BreakContext, type Job } from './jobs.js';

/** Options of targeted FAB. */
export interface FabOptions extends AttackRunOptions {
  /** The true class of each image; default the model's prediction on each original. */
  labels?: readonly ClassRef[];
  /** The norm minimised and budgeted. Default 'linf'. */
  norm?: BudgetNorm;
  /** Budget ε in `units`: an image counts as broken by a point within it. Default 8 (L∞) or 127.5 (L2). */
  eps?: number;
  /** Units of `eps`. Default '0-255'. */
  units?: PixelUnits;
  /** Steps per target class. Default 100. */
  iterations?: number;
  /** Targets tried per image, in turn: the classes ranked 2nd, 3rd, ... by the clean logits. Default 9. */
  targetClasses?: number;
  /** Largest weight α of the step from the original image. Default 0.1. */
  alphaMax?: number;
  /** Overshoot η of the projections. Default 1.05. */
  eta?: number;
  /** After reaching the other side, the change is scaled back by β. Default 0.9. */
  beta?: number;
}

interface FabSettings {
  norm: BudgetNorm;
  eps: number;
  iterations: number;
  alphaMax: number;
  eta: number;
  beta: number;
}

/** One image's outputs: its logits and the gradient of z_target − z_label with respect to its pixel values. */
interface MarginOutputs {
  logits: Float32Array;
  grad: Float32Array;
}

const clamp255 = (x: number) => (x < 0 ? 0 : x > 255 ? 255 : x);

/**
 * ‖d − from‖∞ or ‖d − from‖₂ (`from` default zero), each difference rounded to float32 as a Float32Array of them
 * would hold it.
 */
function normOf(d: Float32Array, norm: BudgetNorm, from?: Float32Array): number {
  let m = 0;
  let s = 0;
  for (let j = 0; j < d.length; j++) {
    const v = from ? Math.fround(d[j] - from[j]) : d[j];
    m = Math.max(m, Math.abs(v));
    s += v * v;
  }
  return norm === 'linf' ? m : Math.sqrt(s);
}

/**
 * One targeted FAB run on one image, in 0-255 pixel values: linearise the margin z_t − z_y at the current point,
 * project both the point and the original onto the linearised boundary (within [0, 255]), step to a mix of the two
 * projections weighted by their sizes (the original's weight at most α_max), overshooting by η; once on the other
 * side, move back towards the original by β. Ends at the first misclassified point within ε.
 */
class FabJob implements Job<MarginOutputs> {
  readonly budget: number;
  point: Float32Array;
  private steps = 0;
  // Whether `point` came from a step, so that its prediction is checked (points scaled back by β are not).
  private stepped = false;

  constructor(
    readonly image: number,
    private readonly u0: Float32Array,
    readonly label: number,
    readonly target: number,
    private readonly s: FabSettings,
    private readonly found: BreakContext['found'],
  ) {
    // A gradient per step, and one more after each scaling back.
    this.budget = 2 * s.iterations + 1;
    this.point = u0;
  }

  update({ logits, grad }: MarginOutputs): boolean {
    const { u0, s } = this;
    const x = this.point;
    if (this.stepped && argmaxRows({ data: logits, dims: [1, logits.length] })[0] !== this.label) {
      if (normOf(x, s.norm, u0) <= s.eps) {
        this.found[this.image] = x;
        return true;
      }
      if (this.steps === s.iterations) return true;
      // The gradient here is not needed: the next step starts from the point scaled back.
      const back = new Float32Array(u0.length);
      for (let j = 0; j < back.length; j++) back[j] = u0[j] + s.beta * (x[j] - u0[j]);
      this.point = back;
      this.stepped = false;
      return false;
    }
    if (this.steps === s.iterations) return true;
    const df = logits[this.target] - logits[this.label];
    let wx = 0;
    let wx0 = 0;
    for (let j = 0; j < grad.length; j++) {
      wx += grad[j] * x[j];
      wx0 += grad[j] * u0[j];
    }
    // The boundary z_t − z_y = 0 linearised at x: w·z = w·x − df, reached from x and from the original.
    const d1 = projectOntoHyperplane(x, grad, -df, s.norm);
    const d2 = projectOntoHyperplane(u0, grad, wx - wx0 - df, s.norm);
    const a1 = Math.max(normOf(d1, s.norm), 1e-8);
    const a2 = Math.max(normOf(d2, s.norm), 1e-8);
    const alpha = Math.min(Math.max(a1 / (a1 + a2), 0), s.alphaMax);
    const next = new Float32Array(x.length);
    for (let j = 0; j < next.length; j++)
      next[j] = clamp255((x[j] + s.eta * d1[j]) * (1 - alpha) + (u0[j] + s.eta * d2[j]) * alpha);
    this.point = next;
    this.stepped = true;
    this.steps++;
    return false;
  }
}

/**
 * Targeted FAB (FAB-T; Croce & Hein 2020, "Minimally distorted adversarial examples with a fast adaptive boundary
 * attack"), L∞ or L2, for a batch, as AutoAttack runs it: per image, the classes ranked 2nd to
 * (`targetClasses` + 1)th by its clean logits are tried in turn as targets, each with `iterations` FAB steps from
 * the original image, until a misclassified point within ε is found (any class other than the label counts). Each
 * step is one graph run (logits and the gradient of the margin, seeded on the logits); FAB minimises the size of the
 * change, but as in AutoAttack only whether it ends within ε counts, so a run stops at the first such point.
 * Results carry that float-domain point (`unrounded`) and its rounding to 8 bits within ε. Defaults: AutoAttack's
 * standard version (9 target classes, 100 iterations, α_max 0.1, η 1.05, β 0.9).
 */
export async function fab(
  classifier: Classifier,
  images: Tensor,
  options: FabOptions = {},
): Promise<AttackResult[]> {
  const { norm, eps } = budgetOf(options, 'fab');
  const { iterations = 100, targetClasses = 9, alphaMax = 0.1, eta = 1.05, beta = 0.9 } = options;
  const { batchSize = 8, onStep, signal } = options;
  const k = classifier.numClasses;
  if (!(Number.isInteger(iterations) && iterations >= 1))
    throw new Error(`fab: iterations ${iterations}, expected a positive integer`);
  if (!(Number.isInteger(targetClasses) && targetClasses >= 1 && targetClasses <= k - 1))
    throw new Error(`fab: targetClasses ${targetClasses}, expected an integer from 1 to ${k - 1}`);
  const settings: FabSettings = { norm, eps, iterations, alphaMax, eta, beta };
  const p = classifier.preprocessing;
  return attackUntilBroken(
    classifier,
    images,
    { labels: options.labels, norm, eps, batchSize, onStep, signal },
    'fab',
    (ctx, attacked) =>
      // Target-major order, as AutoAttack: every image's second class, then every third, ...
      Array.from({ length: targetClasses }, (_, r) =>
        attacked.map((i) => {
          const ranked = rankedClasses(ctx.logits.data.subarray(i * k, (i + 1) * k));
          const u0 = ctx.u0.subarray(i * ctx.per, (i + 1) * ctx.per);
          return new FabJob(i, u0, ctx.labels[i], ranked[r + 1], settings, ctx.found);
        }),
      ).flat(),
    async (x, jobs) => {
      const rows = jobs.length;
      const seeds = new Float32Array(rows * k);
      jobs.forEach((job, r) => {
        seeds[r * k + job.target] = 1;
        seeds[r * k + job.label] = -1;
      });
      const out = await classifier.inputGradient(x, { data: seeds, dims: [rows, k] });
      const grad = toPixelGradient(out.grad.data, x.dims, p);
      const per = grad.length / rows;
      return jobs.map((_, r) => ({
        logits: out.logits.data.subarray(r * k, (r + 1) * k),
        grad: grad.subarray(r * per, (r + 1) * per),
      }));
    },
  );
}
