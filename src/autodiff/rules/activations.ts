import type { GradientRule, RuleContext } from '../types.js';
import { binaryInputGrad, normAxis } from './common.js';

/**
 * g where `cond` holds, else 0, as g · [cond]: ONNX Runtime's Where took 31 of 195 ms of SqueezeNet's N=8 gradient, the
 * mask and multiply 13 ms. A negative g where `cond` fails gives −0 (the same gradient).
 */
function gate(ctx: RuleContext, cond: string, g = ctx.grads[0]!): string {
  return ctx.b.op1('Mul', [g, ctx.b.op1('CastLike', [cond, g])]);
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

// dx = g − softmax(x)·Σ_axis g, with softmax(x) = exp(y)
const logSoftmax: GradientRule = (ctx) => {
  const { b } = ctx;
  const g = ctx.grads[0]!;
  const y = ctx.node.output[0];
  const axis = normAxis(ctx.attrs.int('axis', -1), ctx.dims(y).length);
  const total = b.op1('ReduceSum', [g, b.constInt64([axis])], { keepdims: { i: 1 } });
  return [b.op1('Sub', [g, b.op1('Mul', [b.op1('Exp', [y]), total])])];
};

// none: y = x·Φ(x), dy/dx = Φ(x) + x·φ(x). tanh: y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³),
// dy/dx = ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²).
const gelu: GradientRule = (ctx) => {
  const { b } = ctx;
  const x = ctx.node.input[0];
  const mul = (...t: string[]) => t.reduce((acc, v) => b.op1('Mul', [acc, v]));
  const add = (p: string, q: string) => b.op1('Add', [p, q]);
  const half = scalar(ctx, 0.5);
  let slope: string;
  if (ctx.attrs.string('approximate', 'none') === 'tanh') {
    const k = Math.sqrt(2 / Math.PI);
    const x2 = mul(x, x);
    const u = mul(scalar(ctx, k), add(x, mul(scalar(ctx, 0.044715), x2, x)));
    const t = b.op1('Tanh', [u]);
    const du = mul(scalar(ctx, k), add(scalar(ctx, 1), mul(scalar(ctx, 3 * 0.044715), x2)));
    const dt = b.op1('Sub', [scalar(ctx, 1), mul(t, t)]);
    slope = mul(half, add(add(scalar(ctx, 1), t), mul(x, dt, du)));
  } else {
    const cdf = mul(half, add(scalar(ctx, 1), b.op1('Erf', [mul(x, scalar(ctx, Math.SQRT1_2))])));
    const pdf = mul(b.op1('Exp', [mul(x, x, scalar(ctx, -0.5))]), scalar(ctx, 1 / Math.sqrt(2 * Math.PI)));
    slope = add(cdf, mul(x, pdf));
  }
  return [b.op1('Mul', [ctx.grads[0]!, slope])];
};

// y = ln(1 + eˣ): dy/dx = σ(x)
const softplus: GradientRule = (ctx) => [
  ctx.b.op1('Mul', [ctx.grads[0]!, ctx.b.op1('Sigmoid', [ctx.node.input[0]])]),
];

// y = x for x > 0, else α(eˣ − 1) (Elu) or γ·that (Selu): the slope below 0 is y + α (times γ: y + γα).
function exponentialLinear(defaultAlpha: number, defaultGamma?: number): GradientRule {
  return (ctx) => {
    const { b } = ctx;
    const g = ctx.grads[0]!;
    const alpha = ctx.attrs.float('alpha', defaultAlpha);
    const gamma = defaultGamma === undefined ? 1 : ctx.attrs.float('gamma', defaultGamma);
    const positive = b.op1('Greater', [ctx.node.input[0], scalar(ctx, 0)]);
    const below = b.op1('Add', [ctx.node.output[0], scalar(ctx, gamma * alpha)]);
    const above = gamma === 1 ? g : b.op1('Mul', [g, scalar(ctx, gamma)]);
    return [b.op1('Where', [positive, above, b.op1('Mul', [g, below])])];
  };
}

// y = x for x ≥ 0, slope·x below (slope broadcast to x).
const pRelu: GradientRule = (ctx) => {
  const { b } = ctx;
  const [x, slope] = ctx.node.input;
  const g = ctx.grads[0]!;
  const negative = b.op1('Less', [x, scalar(ctx, 0)]);
  return [
    ctx.needs[0] ? b.op1('Where', [negative, b.op1('Mul', [g, slope]), g]) : undefined,
    binaryInputGrad(ctx, 1, () => b.op1('Where', [negative, b.op1('Mul', [g, x]), scalar(ctx, 0)])),
  ];
};

// y = x·tanh(s), s = ln(1 + eˣ): dy/dx = tanh(s) + x·σ(x)·(1 − tanh²(s)). s is written as Log(1 + Exp)
// because ONNX Runtime has no double Softplus kernel.
const mish: GradientRule = (ctx) => {
  const { b } = ctx;
  const x = ctx.node.input[0];
  const t = b.op1('Tanh', [b.op1('Log', [b.op1('Add', [b.op1('Exp', [x]), scalar(ctx, 1)])])]);
  const dt = b.op1('Sub', [scalar(ctx, 1), b.op1('Mul', [t, t])]);
  // σ(x)·(x·dt), not (x·σ(x))·dt: ONNX Runtime fuses x·σ(x) into QuickGelu, which has no double kernel.
  const slope = b.op1('Add', [t, b.op1('Mul', [b.op1('Sigmoid', [x]), b.op1('Mul', [x, dt])])]);
  return [b.op1('Mul', [ctx.grads[0]!, slope])];
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
  LogSoftmax: logSoftmax,
  Gelu: gelu,
  Softplus: softplus,
  Elu: exponentialLinear(1),
  Selu: exponentialLinear(1.67326319217681884765625, 1.05070102214813232421875),
  PRelu: pRelu,
  Mish: mish,
};
