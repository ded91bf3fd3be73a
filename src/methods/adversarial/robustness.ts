import type { Classifier } from '../../model/classifier.js';
import { concatBatch, sliceBatch, type Tensor } from '../../tensor.js';
import { argmaxRows, checkImageBatch, resolveClasses, type ClassRef } from '../common.js';
import { unitScale, type AttackResult, type AttackRunOptions, type PixelUnits } from './attack.js';
import { bim } from './bim.js';
import type { BudgetNorm } from './budgeted.js';
import { carliniWagnerL2 } from './carlini-wagner.js';
import { deepFool } from './deepfool.js';
import { fgsm } from './fgsm.js';
import { pgd } from './pgd.js';
import { pgdL2 } from './pgd-l2.js';

/** Attacks a robustness curve can use: budgeted ones run per ε; minimal ones (deepfool, cw) run once. */
export const ROBUSTNESS_ATTACKS = ['fgsm', 'bim', 'pgd', 'pgd-l2', 'deepfool', 'cw'] as const;
/** One of ROBUSTNESS_ATTACKS. */
export type RobustnessAttack = (typeof ROBUSTNESS_ATTACKS)[number];

/** The norm each attack's budget (or minimal change) is measured in. */
export const ATTACK_NORM: Record<RobustnessAttack, BudgetNorm> = {
  fgsm: 'linf',
  bim: 'linf',
  pgd: 'linf',
  'pgd-l2': 'l2',
  deepfool: 'l2',
  cw: 'l2',
};

/** Options of a robustness curve. */
export interface RobustnessOptions extends Omit<AttackRunOptions, 'onStep'> {
  attack: RobustnessAttack;
  /** Budgets ε in `units` (L∞ or L2 as the attack's norm); 0 stands for the clean images. */
  eps: readonly number[];
  /** Units of `eps`. Default '0-255'. */
  units?: PixelUnits;
  /** The true class of each image; default the model's clean prediction (clean accuracy is then 1). */
  labels?: readonly ClassRef[];
  /** Gradient steps of the iterative attacks; default each attack's own. */
  steps?: number;
  /** Seed of PGD's random starts. Default 0. */
  seed?: number;
  /** Called after each budget with the budgets done and their number. */
  onStep?: (done: number, total: number) => void;
}

/** Accuracy against an attack as its budget grows. */
export interface RobustnessCurve {
  attack: RobustnessAttack;
  norm: BudgetNorm;
  units: PixelUnits;
  /** The budgets, ascending. */
  eps: number[];
  /** Fraction of images classified as their label with every budget up to ε. */
  accuracy: number[];
  cleanAccuracy: number;
  /** Each image's label (given, or the clean prediction). */
  labels: number[];
  /** Per image, the smallest budget of the list at which it was misclassified (0 when already clean), else null. */
  brokenAt: (number | null)[];
  /** Per image, the adversarial example found at `brokenAt` (none for clean mistakes or unbroken images). */
  examples: (AttackResult | null)[];
}

/**
 * Robustness curve: accuracy over a batch against an attack at each budget ε. An image counts as broken at ε when
 * the attack fooled it at any budget up to ε (a change within a smaller budget is within the larger), so the curve
 * never rises; broken images are not attacked again. Budgeted attacks run once per ε; DeepFool and Carlini-Wagner
 * run once, and break an image at every ε at least the L2 of the change they found.
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
  const examples: (AttackResult | null)[] = new Array<AttackResult | null>(n).fill(null);
  const standing = () => brokenAt.flatMap((b, i) => (b === null ? [i] : []));
  const batchOf = (rows: number[]) => concatBatch(rows.map((i) => sliceBatch(images, i)));
  const common = { batchSize, signal, units };

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
        examples[rows[k]] = r;
      }
    });
    onStep?.(eps.length, eps.length);
  } else {
    const run = { fgsm, bim, pgd, 'pgd-l2': pgdL2 }[attack];
    for (const [done, e] of eps.entries()) {
      const rows = standing();
      if (e > 0 && rows.length > 0) {
        const results = await run(classifier, batchOf(rows), {
          ...common,
          eps: e,
          steps,
          seed,
          labels: rows.map((i) => labels[i]),
        });
        results.forEach((r, k) => {
          if (r.success) {
            brokenAt[rows[k]] = e;
            examples[rows[k]] = r;
          }
        });
      }
      onStep?.(done + 1, eps.length);
    }
  }
  const accuracy = eps.map((e) => brokenAt.filter((b) => b === null || b > e).length / n);
  return {
    attack,
    norm: ATTACK_NORM[attack],
    units,
    eps,
    accuracy,
    cleanAccuracy: clean.filter((c, i) => c === labels[i]).length / n,
    labels,
    brokenAt,
    examples,
  };
}
