import type { GradientRule } from '../types.js';
import { binaryInputGrad, unbroadcast } from './common.js';

const add: GradientRule = (ctx) => [0, 1].map((i) => binaryInputGrad(ctx, i, () => ctx.grads[0]!));

const sub: GradientRule = (ctx) => [
  binaryInputGrad(ctx, 0, () => ctx.grads[0]!),
  binaryInputGrad(ctx, 1, () => ctx.b.op1('Neg', [ctx.grads[0]!])),
];

const mul: GradientRule = (ctx) => {
  const [a, c] = ctx.node.input;
  const g = ctx.grads[0]!;
  return [
    binaryInputGrad(ctx, 0, () => ctx.b.op1('Mul', [g, c])),
    binaryInputGrad(ctx, 1, () => ctx.b.op1('Mul', [g, a])),
  ];
};

// d(a/c)/dc = -a/c² = -y/c
const div: GradientRule = (ctx) => {
  const c = ctx.node.input[1];
  const y = ctx.node.output[0];
  const g = ctx.grads[0]!;
  return [
    binaryInputGrad(ctx, 0, () => ctx.b.op1('Div', [g, c])),
    binaryInputGrad(ctx, 1, () => ctx.b.op1('Neg', [ctx.b.op1('Div', [ctx.b.op1('Mul', [g, y]), c])])),
  ];
};

function variadic(scale: (n: number) => number): GradientRule {
  return (ctx) => {
    const n = ctx.node.input.length;
    const g =
      scale(n) === 1 ? ctx.grads[0]! : ctx.b.op1('Mul', [ctx.grads[0]!, ctx.b.constFloat([scale(n)], [])]);
    const outDims = ctx.dims(ctx.node.output[0]);
    return ctx.node.input.map((x, i) =>
      ctx.needs[i] ? unbroadcast(ctx, g, outDims, ctx.dims(x)) : undefined,
    );
  };
}

const passThrough: GradientRule = (ctx) => [ctx.grads[0]];

// Cast between float types: cast the gradient back to the input's type.
const cast: GradientRule = (ctx) => [ctx.b.op1('CastLike', [ctx.grads[0]!, ctx.node.input[0]])];

/** Rules for arithmetic, Identity, Dropout (inference) and Cast. */
export const elementwiseRules: Record<string, GradientRule> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Sum: variadic(() => 1),
  Mean: variadic((n) => 1 / n),
  Neg: (ctx) => [ctx.b.op1('Neg', [ctx.grads[0]!])],
  Identity: passThrough,
  Dropout: passThrough,
  Cast: cast,
};
