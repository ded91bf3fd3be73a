import type { GradientRule, RuleContext } from '../types.js';
import { binaryInputGrad, unbroadcast } from './common.js';

function scalar(ctx: RuleContext, v: number): string {
  return ctx.b.constFloat([v], []);
}

/** A rule for y = f(x) with dy/dx given by `slope` (from x and y). */
function unary(slope: (ctx: RuleContext, x: string, y: string) => string): GradientRule {
  return (ctx) => [ctx.b.op1('Mul', [ctx.grads[0]!, slope(ctx, ctx.node.input[0], ctx.node.output[0])])];
}

// y = x^e: dx = g·e·x^(e−1), de = g·y·ln x (defined for x > 0). The exponent may be an integer tensor.
const pow: GradientRule = (ctx) => {
  const { b } = ctx;
  const [x, e] = ctx.node.input;
  const y = ctx.node.output[0];
  const g = ctx.grads[0]!;
  return [
    binaryInputGrad(ctx, 0, () => {
      const ef = b.op1('CastLike', [e, x]);
      const dydx = b.op1('Mul', [ef, b.op1('Pow', [x, b.op1('Sub', [ef, scalar(ctx, 1)])])]);
      return b.op1('Mul', [g, dydx]);
    }),
    binaryInputGrad(ctx, 1, () => b.op1('Mul', [g, b.op1('Mul', [y, b.op1('Log', [x])])])),
  ];
};

// Max and Min pass the gradient to the input(s) equal to the result; ties share it equally (as
// torch.maximum/minimum do for two inputs).
const extremum: GradientRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.node.output[0];
  const g = ctx.grads[0]!;
  const inputs = ctx.node.input;
  if (inputs.length === 1) return [g];
  const masks = inputs.map((x) => b.op1('CastLike', [b.op1('Equal', [x, y]), g]));
  const share = b.op1('Div', [g, b.op1('Sum', masks)]);
  const outDims = ctx.dims(y);
  return inputs.map((x, i) =>
    ctx.needs[i] ? unbroadcast(ctx, b.op1('Mul', [share, masks[i]]), outDims, ctx.dims(x)) : undefined,
  );
};

/** Rules for elementary functions: powers, roots, exponentials, logarithms, Erf, |x| and elementwise extrema. */
export const mathRules: Record<string, GradientRule> = {
  Pow: pow,
  Sqrt: (ctx) => [
    ctx.b.op1('Div', [ctx.b.op1('Mul', [ctx.grads[0]!, scalar(ctx, 0.5)]), ctx.node.output[0]]),
  ],
  Reciprocal: unary((ctx, _x, y) => ctx.b.op1('Neg', [ctx.b.op1('Mul', [y, y])])),
  Exp: unary((_ctx, _x, y) => y),
  Log: (ctx) => [ctx.b.op1('Div', [ctx.grads[0]!, ctx.node.input[0]])],
  Abs: unary((ctx, x) => ctx.b.op1('Sign', [x])),
  // d erf(x)/dx = 2/√π·exp(−x²)
  Erf: unary((ctx, x) => {
    const { b } = ctx;
    const minusSquare = b.op1('Neg', [b.op1('Mul', [x, x])]);
    return b.op1('Mul', [b.op1('Exp', [minusSquare]), scalar(ctx, 2 / Math.sqrt(Math.PI))]);
  }),
  Max: extremum,
  Min: extremum,
};
