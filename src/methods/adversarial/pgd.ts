import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import type { AttackResult } from './attack.js';
import { budgetedAttack, type BudgetedAttackOptions } from './budgeted.js';

/**
 * Projected gradient descent with an L∞ budget (Madry et al. 2018) for a batch: from a random point of the ε-ball
 * (unless `randomStart` is false), `steps` steps `x + α·sign(∇ loss)` on the cross-entropy, each projected onto the
 * ball and clipped to valid pixels; rounded to 8 bits within the budget. Defaults (torchattacks'): ε 8, α = ε/4,
 * 10 steps, random start, in 0-255 units.
 */
export async function pgd(
  classifier: Classifier,
  images: Tensor,
  options: BudgetedAttackOptions = {},
): Promise<AttackResult[]> {
  const eps = options.eps ?? 8;
  return budgetedAttack(
    classifier,
    images,
    {
      norm: 'linf',
      eps,
      stepSize: options.stepSize ?? eps / 4,
      steps: options.steps ?? 10,
      randomStart: options.randomStart ?? true,
    },
    options,
    'pgd',
  );
}
