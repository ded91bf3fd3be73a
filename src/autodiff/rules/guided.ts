// The ReLU rules of guided backpropagation and the deconvnet: modified gradients, chosen by a composite.
import type { RuleContext } from '../types.js';

// Guided backprop (Springenberg et al. 2015): the gradient passes where the input was positive and it is positive.
function guided(ctx: RuleContext): (string | undefined)[] {
  const { b } = ctx;
  const g = ctx.grads[0]!;
  const zero = b.constFloat([0], []);
  const open = b.op1('And', [b.op1('Greater', [ctx.node.input[0], zero]), b.op1('Greater', [g, zero])]);
  return [b.op1('Where', [open, g, zero])];
}

// Deconvnet (Zeiler & Fergus 2014): the positive part of the gradient, whatever the forward input.
const deconvnet = (ctx: RuleContext): (string | undefined)[] => [ctx.b.op1('Relu', [ctx.grads[0]!])];

/** Guided backprop's and the deconvnet's ReLU rules by kind. */
export const guidedRules = {
  guided: { ops: ['Relu'], emit: guided },
  deconvnet: { ops: ['Relu'], emit: deconvnet },
};
