import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import type { AttackGoal, AttackResult, AttackRunOptions, PixelUnits } from './attack.js';
import { budgetedAttack } from './budgeted.js';

/** Options of FGSM. */
export interface FgsmOptions extends AttackGoal, AttackRunOptions {
  /** L∞ budget ε in `units`. Default 8 (8/255, torchattacks' default). */
  eps?: number;
  /** Units of `eps`. Default '0-255'. */
  units?: PixelUnits;
}

/**
 * Fast gradient sign method (Goodfellow et al. 2015) for a batch: one step `x + ε·sign(∇ loss)` on the
 * cross-entropy (away from each label, or towards each target), clipped to valid pixels and rounded to 8 bits.
 */
export async function fgsm(
  classifier: Classifier,
  images: Tensor,
  options: FgsmOptions = {},
): Promise<AttackResult[]> {
  const eps = options.eps ?? 8;
  return budgetedAttack(
    classifier,
    images,
    { norm: 'linf', eps, stepSize: eps, steps: 1, randomStart: false },
    options,
    'fgsm',
  );
}
