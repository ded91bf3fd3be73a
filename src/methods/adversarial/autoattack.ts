import type { Classifier } from '../../model/classifier.js';
import { concatBatch, sliceBatch, type Tensor } from '../../tensor.js';
import { argmaxRows, checkImageBatch, type ClassRef } from '../common.js';
import { apgd, apgdTargeted } from './apgd.js';
import {
  attackResults,
  eightBitPixels,
  resolveGoal,
  unitScale,
  type AttackResult,
  type AttackRunOptions,
  type PixelUnits,
} from './attack.js';
import type { BudgetNorm } from './budgeted.js';
import { fab } from './fab.js';
import { square } from './square.js';

/** The attacks AutoAttack runs, by AutoAttack's names. */
export const AUTOATTACK_STAGES = ['apgd-ce', 'apgd-t', 'fab-t', 'square', 'apgd-dlr'] as const;
/** One of AUTOATTACK_STAGES. */
export type AutoAttackStage = (typeof AUTOATTACK_STAGES)[number];

/** AutoAttack's versions: `standard` (deterministic models) and `rand` (randomised defences, with EOT). */
export type AutoAttackVersion = 'standard' | 'rand';

/** The attacks of each version, in order. */
export const AUTOATTACK_VERSIONS: Record<AutoAttackVersion, readonly AutoAttackStage[]> = {
  standard: ['apgd-ce', 'apgd-t', 'fab-t', 'square'],
  rand: ['apgd-ce', 'apgd-dlr'],
};

/** Options of AutoAttack. */
export interface AutoAttackOptions extends Omit<AttackRunOptions, 'onStep'> {
  /** The true class of each image; default the model's prediction on each original. */
  labels?: readonly ClassRef[];
  /** The budget's norm. Default 'linf'. */
  norm?: BudgetNorm;
  /** Budget ε in `units`. Default 8 (L∞) or 127.5 (L2). */
  eps?: number;
  /** Units of `eps`. Default '0-255'. */
  units?: PixelUnits;
  /** Default 'standard'. */
  version?: AutoAttackVersion;
  /** Fewer (or more) attacks than the version's, in the version's order (AutoAttack's version='custom'). */
  attacks?: readonly AutoAttackStage[];
  /** Iterations of APGD and FAB. Default 100. */
  iterations?: number;
  /** Target classes of APGD-T and FAB-T. Default 9. */
  targetClasses?: number;
  /** Square's queries. Default 5000. */
  queries?: number;
  /** Seed of the random starts and squares. Default 0. */
  seed?: number;
  /** Called during each attack with its evaluations done, their most, and the attack. */
  onStep?: (done: number, total: number, attack: AutoAttackStage) => void;
}

/** What one attack of the ensemble did. */
export interface AutoAttackStageReport {
  attack: AutoAttackStage;
  /** Images it was run on (those still robust). */
  attacked: number;
  /** Images it broke. */
  broke: number;
  /** Images still robust after it. */
  robust: number;
  seconds: number;
}

/** AutoAttack's verdict on a batch, as RobustBench reports it. */
export interface AutoAttackResult {
  /** Per image: the adversarial example of the attack that broke it, else its original image (success false). */
  results: AttackResult[];
  /** Each image's label (given, or the clean prediction). */
  labels: number[];
  /** Per image, the attack that broke it (float domain); null when robust or already misclassified. */
  brokenBy: (AutoAttackStage | null)[];
  stages: AutoAttackStageReport[];
  /** Fraction of images classified correctly. */
  cleanAccuracy: number;
  /** Fraction classified correctly and not broken by any attack within ε (float domain, as RobustBench). */
  robustAccuracy: number;
  /** Of the images the attacks broke, how many stay adversarial once rounded to 8 bits within ε. */
  rounding: { broken: number; stayAdversarial: number };
}

/**
 * AutoAttack (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of diverse
 * parameter-free attacks"), as fra31/auto-attack runs it: the version's attacks in turn, each only on the images
 * still robust. `standard`: APGD-CE, APGD-T (9 targets), FAB-T (9 targets), Square (5000 queries), 100 iterations
 * and one run each; `rand`: APGD-CE and APGD-DLR with 20 gradients averaged per step (EOT; one on a model with no
 * random node, where the 20 would be equal: see `apgd`'s `eot`). Robust accuracy counts
 * in the float domain as RobustBench does; each broken image's result is also rounded to 8 bits within ε and
 * `rounding` says how many stay adversarial (none can when ε is below one 8-bit level: the rounding then gives back
 * the original image).
 */
export async function autoAttack(
  classifier: Classifier,
  images: Tensor,
  options: AutoAttackOptions = {},
): Promise<AutoAttackResult> {
  checkImageBatch(images);
  const {
    version = 'standard',
    norm = 'linf',
    units = '0-255',
    seed = 0,
    batchSize,
    signal,
    onStep,
  } = options;
  const versionAttacks = AUTOATTACK_VERSIONS[version];
  if (!versionAttacks) throw new Error(`autoattack: version '${version}', expected 'standard' or 'rand'`);
  const attacks = options.attacks ?? versionAttacks;
  for (const a of attacks)
    if (!AUTOATTACK_STAGES.includes(a))
      throw new Error(`autoattack: attack '${a}', expected some of ${AUTOATTACK_STAGES.join(', ')}`);
  const eps = options.eps ?? (norm === 'linf' ? 8 : 127.5) / unitScale(units);
  const n = images.dims[0];
  const original = argmaxRows(await classifier.logits(images));
  const goal = resolveGoal(classifier, { labels: options.labels }, original, 'autoattack');
  const labels = goal.classes;
  const u0 = eightBitPixels(images, classifier.preprocessing);
  const results = await attackResults(
    classifier,
    images,
    u0,
    goal,
    original,
    new Array<number>(n).fill(0),
    u0,
  );
  const robust = original.map((c, i) => c === labels[i]);
  const brokenBy: (AutoAttackStage | null)[] = new Array<AutoAttackStage | null>(n).fill(null);
  const stages: AutoAttackStageReport[] = [];
  const eot = version === 'rand' ? 20 : 1;
  for (const attack of attacks) {
    const rows = robust.flatMap((r, i) => (r ? [i] : []));
    if (rows.length === 0) break;
    const started = performance.now();
    const batch = concatBatch(rows.map((i) => sliceBatch(images, i)));
    const common = {
      labels: rows.map((i) => labels[i]),
      norm,
      eps,
      units,
      seed,
      batchSize,
      signal,
      onStep: onStep && ((done: number, total: number) => onStep(done, total, attack)),
    };
    const { iterations, targetClasses, queries } = options;
    const stageResults = await {
      'apgd-ce': () => apgd(classifier, batch, { ...common, iterations, loss: 'ce', eot }),
      'apgd-dlr': () => apgd(classifier, batch, { ...common, iterations, loss: 'dlr', eot }),
      'apgd-t': () => apgdTargeted(classifier, batch, { ...common, iterations, targetClasses }),
      'fab-t': () => fab(classifier, batch, { ...common, iterations, targetClasses }),
      square: () => square(classifier, batch, { ...common, queries }),
    }[attack]();
    let broke = 0;
    stageResults.forEach((r, k) => {
      if (!r.unrounded?.success) return;
      const i = rows[k];
      robust[i] = false;
      brokenBy[i] = attack;
      results[i] = r;
      broke++;
    });
    stages.push({
      attack,
      attacked: rows.length,
      broke,
      robust: rows.length - broke,
      seconds: (performance.now() - started) / 1000,
    });
  }
  const broken = brokenBy.flatMap((b, i) => (b ? [i] : []));
  return {
    results,
    labels,
    brokenBy,
    stages,
    cleanAccuracy: original.filter((c, i) => c === labels[i]).length / n,
    robustAccuracy: robust.filter(Boolean).length / n,
    rounding: { broken: broken.length, stayAdversarial: broken.filter((i) => results[i].success).length },
  };
}
