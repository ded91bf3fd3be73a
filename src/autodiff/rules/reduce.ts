import type { GradientRule, RuleContext } from '../types.js';
import { normAxis } from './common.js';

/** The reduced axes of a Reduce* node: the `axes` attribute (opset < 18 for most) or input 1. */
function reducedAxes(ctx: RuleContext, rank: number): number[] {
  const fromInput = ctx.node.input[1] ? ctx.values(ctx.node.input[1]) : undefined;
  const axes = fromInput ?? ctx.attrs.ints('axes', []);
  if (axes.length === 0) {
    return ctx.attrs.int('noop_with_empty_axes', 0) ? [] : Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => normAxis(a, rank));
}

function reduceRule(mean: boolean): GradientRule {
  return (ctx) => {
    const { b } = ctx;
    const xDims = ctx.dims(ctx.node.input[0]);
    const axes = reducedAxes(ctx, xDims.length);
    const kept = xDims.map((d, i) => (axes.includes(i) ? 1 : d));
    const count = axes.reduce((n, i) => n * xDims[i], 1);
    let g = b.op1('Reshape', [ctx.grads[0]!, b.constInt64(kept)]);
    if (mean) g = b.op1('Mul', [g, b.constFloat([1 / count], [])]);
    return [b.op1('Expand', [g, b.constInt64(xDims)])];
  };
}

/** Rules for reductions. */
export const reduceRules: Record<string, GradientRule> = {
  ReduceMean: reduceRule(true),
  ReduceSum: reduceRule(false),
};
