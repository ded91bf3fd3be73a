import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { unitScale, type AttackResult } from './attack.js';
import { budgetedAttack, type BudgetedAttackOptions } from './budgeted.js';

/**
 * Projected gradient descent with an L2 budget for a batch: from a random point of the ε-ball (unless `randomStart`
 * is false), `steps` steps `x + α·∇/‖∇‖₂` on the cross-entropy, each projected onto the ball and clipped to valid
 * pixels; rounded to 8 bits within the budget. Defaults (torchattacks' PGDL2): ε 255 (1.0 in [0, 1]), α = ε/5,
 * 10 steps, random start, in 0-255 units.
 */
export async function pgdL2(
  classifier: Classifier,
  images: Tensor,
  options: BudgetedAttackOptions = {},
): Promise<AttackResult[]> {
  const eps = options.eps ?? 255 / unitScale(options.units);
  return budgetedAttack(
    classifier,
    images,
    {
      norm: 'l2',
      eps,
      stepSize: options.stepSize ?? eps / 5,
      steps: options.steps ?? 10,
      randomStart: options.randomStart ?? true,
    },
    options,
    'pgd-l2',
  );
}
