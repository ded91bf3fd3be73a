import type { Classifier } from '../../model/classifier.js';
import { concatBatch, sliceBatch, type Tensor } from '../../tensor.js';
import { argmaxRows, checkImageBatch, resolveClasses, type ClassRef } from '../common.js';
import { apgd, apgdTargeted } from './apgd.js';
import {
  unitScale,
  type AttackGoal,
  type AttackResult,
  type AttackRunOptions,
  type PixelUnits,
} from './attack.js';
import { autoAttack, type AutoAttackVersion } from './autoattack.js';
import { bim } from './bim.js';
import type { BudgetNorm } from './budgeted.js';
import { carliniWagnerL2 } from './carlini-wagner.js';
import { deepFool } from './deepfool.js';
import { fab } from './fab.js';
import { fgsm } from './fgsm.js';
import { pgd } from './pgd.js';
import { pgdL2 } from './pgd-l2.js';
import { square } from './square.js';

// AutoAttack and its attacks count an image broken in the float domain, as RobustBench reports them; the textbook
// attacks (FGSM, BIM, PGD, DeepFool, CW) count their 8-bit images, as netvis always has.
const FLOAT_DOMAIN = ['apgd-ce', 'apgd-dlr', 'apgd-t', 'fab', 'square', 'autoattack'] as const;

/** Attacks a robustness curve can use: budgeted ones run per ε; minimal ones (deepfool, cw) run once. */
export const ROBUSTNESS_ATTACKS = [
  'fgsm',
  'bim',
  'pgd',
  'pgd-l2',
  'deepfool',
  'cw',
  ...FLOAT_DOMAIN,
] as const;
/** One of ROBUSTNESS_ATTACKS. */
export type RobustnessAttack = (typeof ROBUSTNESS_ATTACKS)[number];

/** The norm of the attacks that have one of their own; APGD, FAB, Square and AutoAttack take either. */
const OWN_NORM: Partial<Record<RobustnessAttack, BudgetNorm>> = {
  fgsm: 'linf',
  bim: 'linf',
  pgd: 'linf',
  'pgd-l2': 'l2',
  deepfool: 'l2',
  cw: 'l2',
};

/** The norm an attack's budget is measured in: its own, else `norm` (default L∞). Throws when `norm` contradicts its own. */
export function attackNorm(attack: RobustnessAttack, norm?: BudgetNorm): BudgetNorm {
  const own = OWN_NORM[attack];
  if (own && norm && norm !== own)
    throw new Error(
      `robustness: ${attack} measures its budget in ${own === 'linf' ? 'L∞' : 'L2'}, not ${norm}`,
    );
  return own ?? norm ?? 'linf';
}

/** Options of a robustness curve. */
export interface RobustnessOptions extends Omit<AttackRunOptions, 'onStep'> {
  attack: RobustnessAttack;
  /** Budgets ε in `units` (in the attack's norm); 0 stands for the clean images. */
  eps: readonly number[];
  /** Units of `eps`. Default '0-255'. */
  units?: PixelUnits;
  /** The norm of APGD, FAB, Square and AutoAttack. Default 'linf'. */
  norm?: BudgetNorm;
  /** AutoAttack's version. Default 'standard'. */
  version?: AutoAttackVersion;
  /** The true class of each image; default the model's clean prediction (clean accuracy is then 1). */
  labels?: readonly ClassRef[];
  /** Gradient steps of the iterative attacks (APGD's and FAB's iterations); default each attack's own. */
  steps?: number;
  /** Target classes of APGD-T, FAB-T and AutoAttack; default theirs (9). */
  targetClasses?: number;
  /** Square's queries (also in AutoAttack); default 5000. */
  queries?: number;
  /** Seed of the random starts and squares. Default 0. */
  seed?: number;
  /** Called as the work goes with the budgets done, their number, and the attack's own progress (AutoAttack: per attack). */
  onStep?: (done: number, total: number, progress?: { attack: string; done: number; total: number }) => void;
}

/** How many images one attack broke at one budget. */
export interface AttackCount {
  eps: number;
  attack: string;
  /** Images it was run on (those not broken at a smaller budget or by an earlier attack of AutoAttack). */
  attacked: number;
  broke: number;
}

/** Accuracy against an attack as its budget grows. */
export interface RobustnessCurve {
  attack: RobustnessAttack;
  norm: BudgetNorm;
  units: PixelUnits;
  /** The budgets, ascending. */
  eps: number[];
  /**
   * Fraction of images classified as their label with every budget up to ε. An image counts as broken when the
   * attack's float-domain result is misclassified (as RobustBench counts; DeepFool and CW work on 8-bit images).
   */
  accuracy: number[];
  cleanAccuracy: number;
  /** Each image's label (given, or the clean prediction). */
  labels: number[];
  /** Per image, the smallest budget of the list at which it was misclassified (0 when already clean), else null. */
  brokenAt: (number | null)[];
  /** Per image, the attack that broke it (AutoAttack: which of its attacks), else null. */
  brokenBy: (string | null)[];
  /** Per budget (above 0), how many images each attack broke. */
  counts: AttackCount[];
  /** Per image, the adversarial example found at `brokenAt` (none for clean mistakes or unbroken images); `success` says whether its 8-bit rounding is still adversarial. */
  examples: (AttackResult | null)[];
}

/** Whether a result of `attack` broke its image. */
const broke = (r: AttackResult, attack: RobustnessAttack) =>
  (FLOAT_DOMAIN as readonly string[]).includes(attack) ? Boolean(r.unrounded?.success) : r.success;

/**
 * Robustness curve: accuracy over a batch against an attack at each budget ε. An image counts as broken at ε when
 * the attack fooled it at any budget up to ε (a change within a smaller budget is within the larger), so the curve
 * never rises; broken images are not attacked again. Budgeted attacks run once per ε (AutoAttack's attacks in turn,
 * each on the images still robust); DeepFool and Carlini-Wagner run once, and break an image at every ε at least
 * the L2 of the change they found.
 */
export async function robustnessCurve(
  classifier: Classifier,
  images: Tensor,
  options: RobustnessOptions,
): Promise<RobustnessCurve> {
  checkImageBatch(images);
  const { attack, units = '0-255', steps, seed, batchSize, signal, onStep } = options;
  if (!ROBUSTNESS_ATTACKS.includes(attack))
    throw new Error(`robustness: attack '${attack}', expected one of ${ROBUSTNESS_ATTACKS.join(', ')}`);
  const norm = attackNorm(attack, options.norm);
  const scale = unitScale(units);
  const eps = [...new Set(options.eps)].sort((a, b) => a - b);
  if (eps.length === 0 || eps.some((e) => !(e >= 0 && Number.isFinite(e))))
    throw new Error(`robustness: eps [${options.eps}], expected budgets ≥ 0`);
  const n = images.dims[0];
  const clean = argmaxRows(await classifier.logits(images));
  if (options.labels && options.labels.length !== n)
    throw new Error(`robustness: ${options.labels.length} labels for ${n} images`);
  const labels = options.labels ? resolveClasses(classifier, options.labels) : clean;
  const brokenAt: (number | null)[] = clean.map((c, i) => (c === labels[i] ? null : 0));
  const brokenBy: (string | null)[] = new Array<string | null>(n).fill(null);
  const examples: (AttackResult | null)[] = new Array<AttackResult | null>(n).fill(null);
  const counts: AttackCount[] = [];
  const standing = () => brokenAt.flatMap((b, i) => (b === null ? [i] : []));
  const batchOf = (rows: number[]) => concatBatch(rows.map((i) => sliceBatch(images, i)));

  if (attack === 'deepfool' || attack === 'cw') {
    const rows = standing();
    const results = rows.length
      ? attack === 'deepfool'
        ? await deepFool(classifier, batchOf(rows), { signal, maxIterations: steps })
        : await carliniWagnerL2(classifier, batchOf(rows), {
            batchSize,
            signal,
            labels: rows.map((i) => labels[i]),
            steps,
          })
      : [];
    results.forEach((r, k) => {
      const size = r.l2Pixels / scale;
      const at = eps.find((e) => e > 0 && e >= size - 1e-9);
      if (r.success && at !== undefined) {
        brokenAt[rows[k]] = at;
        brokenBy[rows[k]] = attack;
        examples[rows[k]] = r;
      }
    });
    for (const e of eps.filter((e) => e > 0))
      counts.push({ eps: e, attack, attacked: rows.length, broke: brokenAt.filter((b) => b === e).length });
    onStep?.(eps.length, eps.length);
  } else {
    for (const [done, e] of eps.entries()) {
      const rows = standing();
      if (e > 0 && rows.length > 0) {
        const progress = (a: string) => (d: number, t: number) =>
          onStep?.(done, eps.length, { attack: a, done: d, total: t });
        const common = {
          batchSize,
          signal,
          units,
          eps: e,
          seed,
          labels: rows.map((i) => labels[i]),
        };
        const runs = await runAt(classifier, batchOf(rows), attack, norm, common, options, progress);
        for (const c of runs.counts) counts.push({ eps: e, ...c });
        runs.results.forEach((r, k) => {
          if (!broke(r, attack)) return;
          brokenAt[rows[k]] = e;
          brokenBy[rows[k]] = runs.by[k];
          examples[rows[k]] = r;
        });
      }
      onStep?.(done + 1, eps.length);
    }
  }
  const accuracy = eps.map((e) => brokenAt.filter((b) => b === null || b > e).length / n);
  return {
    attack,
    norm,
    units,
    eps,
    accuracy,
    cleanAccuracy: clean.filter((c, i) => c === labels[i]).length / n,
    labels,
    brokenAt,
    brokenBy,
    counts,
    examples,
  };
}

/** One budgeted attack (or AutoAttack) at one budget on a batch: each image's result, who broke it, and counts. */
async function runAt(
  classifier: Classifier,
  batch: Tensor,
  attack: Exclude<RobustnessAttack, 'deepfool' | 'cw'>,
  norm: BudgetNorm,
  common: AttackGoal & AttackRunOptions & { eps: number; units: PixelUnits; seed?: number },
  options: RobustnessOptions,
  progress: (attack: string) => (done: number, total: number) => void,
): Promise<{ results: AttackResult[]; by: (string | null)[]; counts: Omit<AttackCount, 'eps'>[] }> {
  const { steps: iterations, targetClasses, queries } = options;
  if (attack === 'autoattack') {
    const aa = await autoAttack(classifier, batch, {
      ...common,
      norm,
      version: options.version,
      iterations,
      targetClasses,
      queries,
      onStep: (d, t, a) => progress(a)(d, t),
    });
    return {
      results: aa.results,
      by: aa.brokenBy,
      counts: aa.stages.map((s) => ({ attack: s.attack, attacked: s.attacked, broke: s.broke })),
    };
  }
  const run = { ...common, onStep: progress(attack) };
  const results = await {
    fgsm: () => fgsm(classifier, batch, run),
    bim: () => bim(classifier, batch, { ...run, steps: iterations }),
    pgd: () => pgd(classifier, batch, { ...run, steps: iterations }),
    'pgd-l2': () => pgdL2(classifier, batch, { ...run, steps: iterations }),
    'apgd-ce': () => apgd(classifier, batch, { ...run, norm, iterations, loss: 'ce' }),
    'apgd-dlr': () => apgd(classifier, batch, { ...run, norm, iterations, loss: 'dlr' }),
    'apgd-t': () => apgdTargeted(classifier, batch, { ...run, norm, iterations, targetClasses }),
    fab: () => fab(classifier, batch, { ...run, norm, iterations, targetClasses }),
    square: () => square(classifier, batch, { ...run, norm, queries }),
  }[attack]();
  const by = results.map((r) => (broke(r, attack) ? attack : null));
  return { results, by, counts: [{ attack, attacked: results.length, broke: by.filter(Boolean).length }] };
}
