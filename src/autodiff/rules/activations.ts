import type { GradientRule, RuleContext } from '../types.js';
import { normAxis } from './common.js';

/** g where `cond` holds, else 0. */
function gate(ctx: RuleContext, cond: string, g = ctx.grads[0]!): string {
  return ctx.b.op1('Where', [cond, g, ctx.b.constFloat([0], [])]);
}

function scalar(ctx: RuleContext, v: number): string {
  return ctx.b.constFloat([v], []);
}

// Pass where the input was positive (autograd's choice at 0: no gradient).
const relu: GradientRule = (ctx) => [gate(ctx, ctx.b.op1('Greater', [ctx.node.input[0], scalar(ctx, 0)]))];

const leakyRelu: GradientRule = (ctx) => {
  const g = ctx.grads[0]!;
  const alpha = ctx.attrs.float('alpha', 0.01);
  const positive = ctx.b.op1('Greater', [ctx.node.input[0], scalar(ctx, 0)]);
  return [ctx.b.op1('Where', [positive, g, ctx.b.op1('Mul', [g, scalar(ctx, alpha)])])];
};

// PyTorch's hardtanh/ReLU6 backward passes strictly inside (min, max).
const clip: GradientRule = (ctx) => {
  const { b } = ctx;
  const [x, lo, hi] = ctx.node.input;
  const conds: string[] = [];
  if (lo) conds.push(b.op1('Greater', [x, lo]));
  if (hi) conds.push(b.op1('Less', [x, hi]));
  if (conds.length === 0) return [ctx.grads[0]];
  return [gate(ctx, conds.length === 1 ? conds[0] : b.op1('And', conds))];
};

const sigmoid: GradientRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.node.output[0];
  return [b.op1('Mul', [ctx.grads[0]!, b.op1('Mul', [y, b.op1('Sub', [scalar(ctx, 1), y])])])];
};

const tanh: GradientRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.node.output[0];
  return [b.op1('Mul', [ctx.grads[0]!, b.op1('Sub', [scalar(ctx, 1), b.op1('Mul', [y, y])])])];
};

// y = max(0, min(1, αx + β)): slope α strictly inside the linear part.
const hardSigmoid: GradientRule = (ctx) => {
  const { b } = ctx;
  const alpha = ctx.attrs.float('alpha', 0.2);
  const beta = ctx.attrs.float('beta', 0.5);
  const z = b.op1('Add', [b.op1('Mul', [ctx.node.input[0], scalar(ctx, alpha)]), scalar(ctx, beta)]);
  const inside = b.op1('And', [b.op1('Greater', [z, scalar(ctx, 0)]), b.op1('Less', [z, scalar(ctx, 1)])]);
  return [gate(ctx, inside, b.op1('Mul', [ctx.grads[0]!, scalar(ctx, alpha)]))];
};

// y = x·relu6(x+3)/6; PyTorch: 0 below -3, g·(x/3 + 1/2) up to 3 inclusive, g above.
const hardSwish: GradientRule = (ctx) => {
  const { b } = ctx;
  const g = ctx.grads[0]!;
  const x = ctx.node.input[0];
  const slope = b.op1('Add', [b.op1('Div', [x, scalar(ctx, 3)]), scalar(ctx, 0.5)]);
  const middle = b.op1('Where', [b.op1('LessOrEqual', [x, scalar(ctx, 3)]), b.op1('Mul', [g, slope]), g]);
  return [b.op1('Where', [b.op1('Less', [x, scalar(ctx, -3)]), scalar(ctx, 0), middle])];
};

// dx = y ⊙ (g − Σ_axis g ⊙ y)
const softmax: GradientRule = (ctx) => {
  const { b } = ctx;
  const g = ctx.grads[0]!;
  const y = ctx.node.output[0];
  const axis = normAxis(ctx.attrs.int('axis', -1), ctx.dims(y).length);
  const dot = b.op1('ReduceSum', [b.op1('Mul', [g, y]), b.constInt64([axis])], { keepdims: { i: 1 } });
  return [b.op1('Mul', [y, b.op1('Sub', [g, dot])])];
};

/** Rules for activation functions. */
export const activationRules: Record<string, GradientRule> = {
  Relu: relu,
  LeakyRelu: leakyRelu,
  Clip: clip,
  Sigmoid: sigmoid,
  Tanh: tanh,
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
  Softmax: softmax,
};
