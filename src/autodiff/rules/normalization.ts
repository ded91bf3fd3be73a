import type { GradientRule, RuleContext } from '../types.js';
import { normAxis, unsupported } from './common.js';

// Inference form: y = (x − mean)/√(var + ε)·scale + B, so dx = g·scale/√(var + ε) per channel.
const batchNormalization: GradientRule = (ctx) => {
  const { b } = ctx;
  if (ctx.attrs.int('training_mode', 0))
    unsupported(ctx, 'training_mode=1 is not supported (export in eval mode)');
  refuseParameterGradients(ctx);
  const [x, scale, , , variance] = ctx.node.input;
  const rank = ctx.dims(x).length;
  const eps = b.constFloat([ctx.attrs.float('epsilon', 1e-5)], []);
  const factor = b.op1('Div', [scale, b.op1('Sqrt', [b.op1('Add', [variance, eps])])]);
  const perChannel = b.op1('Reshape', [factor, b.constInt64([-1, ...new Array<number>(rank - 2).fill(1)])]);
  return [b.op1('Mul', [ctx.grads[0]!, perChannel])];
};

function refuseParameterGradients(ctx: RuleContext): void {
  if (ctx.needs.slice(1).some(Boolean))
    unsupported(ctx, 'gradients with respect to its parameters are not supported');
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** Σ over `axes` (kept) divided by `count`: a mean that only needs ReduceSum's opset-13 form. */
function meanOver(ctx: RuleContext, t: string, axes: number[], count: number): string {
  const { b } = ctx;
  const sum = b.op1('ReduceSum', [t, b.constInt64(axes)], { keepdims: { i: 1 } });
  return b.op1('Mul', [sum, b.constFloat([1 / count], [])]);
}

/** The standardised x̂ = (x − μ)·r and r = 1/√(σ² + ε) over `axes` (of `count` elements), computed anew. */
function standardize(
  ctx: RuleContext,
  x: string,
  axes: number[],
  count: number,
): { xhat: string; invStd: string } {
  const { b } = ctx;
  const centred = b.op1('Sub', [x, meanOver(ctx, x, axes, count)]);
  const variance = meanOver(ctx, b.op1('Mul', [centred, centred]), axes, count);
  const eps = b.constFloat([ctx.attrs.float('epsilon', 1e-5)], []);
  const invStd = b.op1('Reciprocal', [b.op1('Sqrt', [b.op1('Add', [variance, eps])])]);
  return { xhat: b.op1('Mul', [centred, invStd]), invStd };
}

// x̂ = (x − μ)·r over a group of M elements: dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)).
function standardizeBackward(
  ctx: RuleContext,
  dxhat: string,
  xhat: string,
  invStd: string,
  axes: number[],
  count: number,
): string {
  const { b } = ctx;
  const m1 = meanOver(ctx, dxhat, axes, count);
  const m2 = meanOver(ctx, b.op1('Mul', [dxhat, xhat]), axes, count);
  const inner = b.op1('Sub', [b.op1('Sub', [dxhat, m1]), b.op1('Mul', [xhat, m2])]);
  return b.op1('Mul', [invStd, inner]);
}

// y = x̂·scale + B over the axes from `axis` on, with optional outputs Mean (μ) and InvStdDev (r). The
// forward node's own μ and r are used (added as outputs; cast, as stash_type may make them float32).
const layerNormalization: GradientRule = (ctx) => {
  const { b } = ctx;
  refuseParameterGradients(ctx);
  const [x, scale] = ctx.node.input;
  const xDims = ctx.dims(x);
  const axis = normAxis(ctx.attrs.int('axis', -1), xDims.length);
  const axes = range(axis, xDims.length);
  const count = xDims.slice(axis).reduce((a, c) => a * c, 1);
  const mean = b.op1('CastLike', [ctx.addOutput(1), x]);
  const invStd = b.op1('CastLike', [ctx.addOutput(2), x]);
  const xhat = b.op1('Mul', [b.op1('Sub', [x, mean]), invStd]);
  const [gy, gMean, gInvStd] = ctx.grads;
  const parts: string[] = [];
  if (gy) parts.push(standardizeBackward(ctx, b.op1('Mul', [gy, scale]), xhat, invStd, axes, count));
  // dμ/dx = 1/M; dr/dx = −r³·(x − μ)/M = −r²·x̂/M.
  if (gMean)
    parts.push(b.op1('Expand', [b.op1('Mul', [gMean, b.constFloat([1 / count], [])]), b.constInt64(xDims)]));
  if (gInvStd) {
    const r2 = b.op1('Mul', [invStd, invStd]);
    const factor = b.op1('Mul', [b.op1('Mul', [gInvStd, r2]), b.constFloat([-1 / count], [])]);
    parts.push(b.op1('Mul', [factor, xhat]));
  }
  return [parts.length === 1 ? parts[0] : b.op1('Sum', parts), undefined, undefined];
};

// Per sample and channel over the spatial axes: y = x̂·scale[c] + B[c].
const instanceNormalization: GradientRule = (ctx) => {
  const { b } = ctx;
  refuseParameterGradients(ctx);
  const [x, scale] = ctx.node.input;
  const xDims = ctx.dims(x);
  const axes = range(2, xDims.length);
  const count = xDims.slice(2).reduce((a, c) => a * c, 1);
  const { xhat, invStd } = standardize(ctx, x, axes, count);
  const perChannel = b.op1('Reshape', [scale, b.constInt64([-1, ...axes.map(() => 1)])]);
  const dxhat = b.op1('Mul', [ctx.grads[0]!, perChannel]);
  return [standardizeBackward(ctx, dxhat, xhat, invStd, axes, count)];
};

// Per sample over groups of C/G channels and the spatial axes. Opset 18 scales per group (scale of G
// values), opset 21 per channel (C values); the scale's length tells which (the same when G = C).
const groupNormalization: GradientRule = (ctx) => {
  const { b } = ctx;
  refuseParameterGradients(ctx);
  const [x, scale] = ctx.node.input;
  const xDims = ctx.dims(x);
  const [n, c] = xDims;
  const groups = ctx.attrs.int('num_groups', 0);
  const count = xDims.slice(1).reduce((a, d) => a * d, 1) / groups;
  const grouped = (t: string) => b.op1('Reshape', [t, b.constInt64([n, groups, count])]);
  const { xhat, invStd } = standardize(ctx, grouped(x), [2], count);
  const g = ctx.grads[0]!;
  const dxhat =
    ctx.dims(scale)[0] === c
      ? grouped(
          b.op1('Mul', [g, b.op1('Reshape', [scale, b.constInt64([c, ...xDims.slice(2).map(() => 1)])])]),
        )
      : b.op1('Mul', [grouped(g), b.op1('Reshape', [scale, b.constInt64([groups, 1])])]);
  const dx = standardizeBackward(ctx, dxhat, xhat, invStd, [2], count);
  return [b.op1('Reshape', [dx, b.constInt64(xDims)])];
};

/** Rules for normalisation layers. */
export const normalizationRules: Record<string, GradientRule> = {
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
  InstanceNormalization: instanceNormalization,
  GroupNormalization: groupNormalization,
};
