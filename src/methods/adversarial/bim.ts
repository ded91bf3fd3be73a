import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { unitScale, type AttackResult } from './attack.js';
import { budgetedAttack, type BudgetedAttackOptions } from './budgeted.js';

/**
 * Basic iterative method (Kurakin et al. 2017): PGD with an L∞ budget started at the original image. Defaults from
 * the paper: α = 1 (0-255 units) and min(ε + 4, 1.25ε) steps; ε 8.
 */
export async function bim(
  classifier: Classifier,
  images: Tensor,
  options: Omit<BudgetedAttackOptions, 'randomStart' | 'seed'> = {},
): Promise<AttackResult[]> {
  const scale = unitScale(options.units);
  const eps = options.eps ?? 8 / scale;
  const eps255 = eps * scale;
  return budgetedAttack(
    classifier,
    images,
    {
      norm: 'linf',
      eps,
      stepSize: options.stepSize ?? 1 / scale,
      steps: options.steps ?? Math.max(1, Math.ceil(Math.min(eps255 + 4, 1.25 * eps255))),
      randomStart: false,
    },
    options,
    'bim',
  );
}
