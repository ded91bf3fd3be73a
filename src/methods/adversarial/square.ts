import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import type { ClassRef } from '../common.js';
import { jobSeed, Random } from '../random.js';
import { type AttackResult, type AttackRunOptions, type PixelUnits } from './attack.js';
import type { BudgetNorm } from './budgeted.js';
import { attackUntilBroken, budgetOf, type BreakContext, type Job } from './jobs.js';

/** Options of the Square attack. */
export interface SquareOptions extends AttackRunOptions {
  /** The true class of each image; default the model's prediction on each original. */
  labels?: readonly ClassRef[];
  /** The budget's norm. Default 'linf'. */
  norm?: BudgetNorm;
  /** Budget ε in `units`. Default 8 (L∞) or 127.5 (L2). */
  eps?: number;
  /** Units of `eps`. Default '0-255'. */
  units?: PixelUnits;
  /** Queries per image after the first (the budget): each is one forward pass. Default 5000 (AutoAttack's). */
  queries?: number;
  /** p_init: the first squares cover this fraction of the image. Default 0.8. */
  pInit?: number;
  /** Seed of the random squares. Default 0. */
  seed?: number;
}

interface SquareSettings {
  norm: BudgetNorm;
  eps: number;
  queries: number;
  pInit: number;
}

/** The fraction of the image a square covers at iteration `it`: p_init halved at 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000. */
function squareFraction(pInit: number, it: number): number {
  const halvings = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000].filter((t) => it > t).length;
  return pInit / 2 ** halvings;
}

/** An x × y block of concentric squares of weight 1/(k+1)² around its centre, of unit L2 norm (flat, row-major). */
function concentric(x: number, y: number): Float64Array {
  const m = new Float64Array(x * y);
  const [cx, cy] = [Math.floor(x / 2), Math.floor(y / 2)];
  for (let k = 0; k < Math.max(cx, cy) + 1; k++)
    for (let i = Math.max(cx - k, 0); i < Math.min(cx + k + 1, x); i++)
      for (let j = Math.max(cy - k, 0); j < Math.min(cy + k + 1, y); j++) m[i * y + j] += 1 / (k + 1) ** 2;
  return unit(m);
}

function unit(m: Float64Array): Float64Array {
  const n = Math.sqrt(m.reduce((s, v) => s + v * v, 0));
  return m.map((v) => v / n);
}

/** The L2 attack's s × s pattern: concentric squares in the upper half, negated in the lower, unit norm, transposed at random. */
function squarePattern(s: number, rng: Random): Float64Array {
  const half = Math.floor(s / 2);
  const m = new Float64Array(s * s);
  m.set(concentric(half, s));
  m.set(
    concentric(s - half, s).map((v) => -v),
    half * s,
  );
  const out = unit(m);
  if (rng.next() < 0.5) return out;
  return out.map((_, k) => out[(k % s) * s + Math.floor(k / s)]);
}

/**
 * One Square attack run on one image (Andriushchenko et al. 2020), in 0-255 pixel values, on the margin
 * z_y − max_{j≠y} z_j from the logits alone: start from vertical stripes of ±ε (L∞) or a grid of ±pattern squares
 * (L2), then each query changes one random square (L∞: to ±ε per channel; L2: moves the mass of a second square
 * into it) and keeps the change when the margin falls. Ends when the margin is ≤ 0 or after `queries` queries.
 */
class SquareJob implements Job<Float32Array> {
  readonly budget: number;
  point: Float32Array;
  private best: Float32Array;
  private margin = Infinity;
  private iteration = -1;
  private readonly lo: Float32Array;
  private readonly hi: Float32Array;

  constructor(
    readonly image: number,
    private readonly u0: Float32Array,
    private readonly dims: [number, number, number],
    readonly label: number,
    private readonly s: SquareSettings,
    private readonly found: BreakContext['found'],
    private readonly rng: Random,
  ) {
    this.budget = s.queries + 1;
    const { eps } = s;
    this.lo = u0.map((v) => Math.max(0, v - eps));
    this.hi = u0.map((v) => Math.min(255, v + eps));
    this.point = s.norm === 'linf' ? this.stripes() : this.grid();
    this.best = this.point;
  }

  update(logits: Float32Array): boolean {
    let other = -Infinity;
    for (let j = 0; j < logits.length; j++) if (j !== this.label && logits[j] > other) other = logits[j];
    const margin = logits[this.label] - other;
    if (margin < this.margin || margin <= 0) [this.margin, this.best] = [margin, this.point];
    if (this.margin <= 0) {
      this.found[this.image] = this.best;
      return true;
    }
    if (++this.iteration === this.s.queries) return true;
    this.point = this.s.norm === 'linf' ? this.proposeLinf() : this.proposeL2();
    return false;
  }

  private stripes(): Float32Array {
    const [c, h, w] = this.dims;
    const out = new Float32Array(this.u0.length);
    for (let ch = 0; ch < c; ch++)
      for (let x = 0; x < w; x++) {
        const sign = this.rng.next() < 0.5 ? -1 : 1;
        for (let y = 0; y < h; y++) {
          const j = (ch * h + y) * w + x;
          out[j] = Math.min(255, Math.max(0, this.u0[j] + sign * this.s.eps));
        }
      }
    return out;
  }

  /** The side of this iteration's squares, at least `min`. */
  private side(min: number): number {
    const [, h, w] = this.dims;
    return Math.min(
      Math.max(Math.round(Math.sqrt(squareFraction(this.s.pInit, this.iteration) * h * w)), min),
      h,
      w,
    );
  }

  private proposeLinf(): Float32Array {
    const [c, h, w] = this.dims;
    const s = this.side(1);
    const [top, left] = [this.rng.int(0, h - s), this.rng.int(0, w - s)];
    const out = this.best.slice();
    for (let ch = 0; ch < c; ch++) {
      const change = (this.rng.next() < 0.5 ? -2 : 2) * this.s.eps;
      for (let y = top; y < top + s; y++)
        for (let x = left; x < left + s; x++) {
          const j = (ch * h + y) * w + x;
          out[j] = Math.min(this.hi[j], Math.max(this.lo[j], out[j] + change));
        }
    }
    return out;
  }

  private grid(): Float32Array {
    const [c, h, w] = this.dims;
    const s = Math.floor(h / 5);
    const start = Math.floor((h - 5 * s) / 2);
    const delta = new Float64Array(this.u0.length);
    for (let r = 0; r < Math.floor(h / s); r++)
      for (let q = 0; q < Math.floor(w / s); q++) {
        const pattern = squarePattern(s, this.rng);
        for (let ch = 0; ch < c; ch++) {
          const sign = this.rng.next() < 0.5 ? -1 : 1;
          for (let y = 0; y < s; y++)
            for (let x = 0; x < s; x++) {
              const [py, px] = [start + r * s + y, start + q * s + x];
              if (py < h && px < w) delta[(ch * h + py) * w + px] += sign * pattern[y * s + x];
            }
        }
      }
    return this.onSphere(delta);
  }

  /** The original plus `delta` scaled to L2 norm ε, within [0, 255]. */
  private onSphere(delta: Float64Array): Float32Array {
    const k = this.s.eps / (Math.sqrt(delta.reduce((t, v) => t + v * v, 0)) + 1e-12);
    return this.u0.map((v, j) => Math.min(255, Math.max(0, v + k * delta[j])));
  }

  private proposeL2(): Float32Array {
    const [c, h, w] = this.dims;
    const { eps } = this.s;
    let s = this.side(3);
    if (s % 2 === 0) s = Math.min(s + 1, h, w);
    const [top, left] = [this.rng.int(0, h - s), this.rng.int(0, w - s)];
    const [top2, left2] = [this.rng.int(0, h - s), this.rng.int(0, w - s)];
    const delta = Float64Array.from(this.best, (v, j) => v - this.u0[j]);
    const inFirst = (y: number, x: number) => y >= top && y < top + s && x >= left && x < left + s;
    const inSecond = (y: number, x: number) => y >= top2 && y < top2 + s && x >= left2 && x < left2 + s;
    const total = delta.reduce((t, v) => t + v * v, 0);
    const pattern = squarePattern(s, this.rng);
    for (let ch = 0; ch < c; ch++) {
      const at = (y: number, x: number) => (ch * h + y) * w + x;
      let first = 0;
      let both = 0;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const v = delta[at(y, x)] ** 2;
          if (inFirst(y, x)) first += v;
          if (inFirst(y, x) || inSecond(y, x)) both += v;
        }
      // The first square becomes the pattern plus its old content (normalised), holding the mass of both squares
      // and this channel's share of what the budget has left; the second square is emptied.
      const sign = this.rng.next() < 0.5 ? -1 : 1;
      const block = new Float64Array(s * s);
      for (let y = 0; y < s; y++)
        for (let x = 0; x < s; x++)
          block[y * s + x] =
            sign * pattern[y * s + x] + delta[at(top + y, left + x)] / (Math.sqrt(first) + 1e-12);
      const norm = Math.sqrt(block.reduce((t, v) => t + v * v, 0));
      const mass = Math.sqrt(Math.max(eps * eps - total, 0) / c + both);
      for (let y = top2; y < top2 + s; y++) for (let x = left2; x < left2 + s; x++) delta[at(y, x)] = 0;
      for (let y = 0; y < s; y++)
        for (let x = 0; x < s; x++) delta[at(top + y, left + x)] = (block[y * s + x] / (norm + 1e-12)) * mass;
    }
    return this.onSphere(delta);
  }
}

/**
 * The Square attack (Andriushchenko et al. 2020), score-based: it reads only the logits (never a gradient), L∞ or
 * L2, untargeted on the margin loss, for a batch: per image, random square-shaped updates kept when they lower the
 * margin z_y − max_{j≠y} z_j, until the image is misclassified or `queries` queries (forward passes) have been spent
 * after the first. Square sizes follow the paper's schedule (p_init halved at iterations 10, 50, 200, ..., 8000, not
 * rescaled to the budget, as AutoAttack runs it). Results carry the float-domain point (`unrounded`) and its
 * rounding to 8 bits within ε; `iterations` counts the queries spent. Defaults: AutoAttack's (5000 queries, p_init 0.8).
 */
export async function square(
  classifier: Classifier,
  images: Tensor,
  options: SquareOptions = {},
): Promise<AttackResult[]> {
  const { norm, eps } = budgetOf(options, 'square');
  const { queries = 5000, pInit = 0.8, seed = 0, batchSize = 8, onStep, signal } = options;
  if (!(Number.isInteger(queries) && queries >= 1))
    throw new Error(`square: queries ${queries}, expected a positive integer`);
  if (!(pInit > 0 && pInit <= 1)) throw new Error(`square: pInit ${pInit}, expected a number in (0, 1]`);
  const [, c, h, w] = images.dims;
  const settings: SquareSettings = { norm, eps, queries, pInit };
  const k = classifier.numClasses;
  return attackUntilBroken(
    classifier,
    images,
    { labels: options.labels, norm, eps, batchSize, onStep, signal },
    'square',
    (ctx, attacked) =>
      attacked.map((i) => {
        const u0 = ctx.u0.subarray(i * ctx.per, (i + 1) * ctx.per);
        const rng = new Random(jobSeed(seed, u0, 0));
        return new SquareJob(i, u0, [c, h, w], ctx.labels[i], settings, ctx.found, rng);
      }),
    async (x, jobs) => {
      const logits = await classifier.logits(x);
      return jobs.map((_, r) => logits.data.subarray(r * k, (r + 1) * k));
    },
  );
}
