import type { GradientRule } from '../types.js';
import { unsupported } from './common.js';

// Inference form: y = (x − mean)/√(var + ε)·scale + B, so dx = g·scale/√(var + ε) per channel.
const batchNormalization: GradientRule = (ctx) => {
  const { b } = ctx;
  if (ctx.attrs.int('training_mode', 0))
    unsupported(ctx, 'training_mode=1 is not supported (export in eval mode)');
  if (ctx.needs.slice(1).some(Boolean))
    unsupported(ctx, 'gradients with respect to its parameters are not supported');
  const [x, scale, , , variance] = ctx.node.input;
  const rank = ctx.dims(x).length;
  const eps = b.constFloat([ctx.attrs.float('epsilon', 1e-5)], []);
  const factor = b.op1('Div', [scale, b.op1('Sqrt', [b.op1('Add', [variance, eps])])]);
  const perChannel = b.op1('Reshape', [factor, b.constInt64([-1, ...new Array<number>(rank - 2).fill(1)])]);
  return [b.op1('Mul', [ctx.grads[0]!, perChannel])];
};

/** Rules for normalisation layers. */
export const normalizationRules: Record<string, GradientRule> = { BatchNormalization: batchNormalization };
