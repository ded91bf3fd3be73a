// Layer-wise relevance propagation (Bach et al. 2015; Montavon et al. 2019) as backward rules: what flows back is
// relevance, and a layer's rule says how its output relevance R is shared among its inputs. Each rule follows
// Zennit 0.5.1's definition (rules.py) term for term, biases included: a linear layer is recomputed on modified
// inputs and weights, R is divided by the stabilised sum of those outputs, and the input gradients of the modified
// layers, times the modified inputs, add up to the input relevance.
import type { onnx } from '../../onnx/proto.js';
import type { Rule, RuleContext } from '../types.js';
import { ACTIVATION_OPS } from './common.js';
import { gradientRules } from './index.js';

type RuleOf<K extends Rule['kind']> = Extract<Rule, { kind: K }>;

/** Operators the linear-layer rules apply to (Zennit's `Linear`: convolutions and dense layers). */
export const LINEAR_OPS: readonly string[] = ['Conv', 'Gemm', 'MatMul'];

/** Operators relevance passes unchanged under `pass` (Zennit's `Activation` and `BatchNorm`, as ONNX writes them). */
const PASS_OPS: readonly string[] = [...ACTIVATION_OPS, 'BatchNormalization'];

/** Operators `norm` applies to: average pools and sums of several inputs (Zennit's `AvgPool` and `Sum`). */
export const NORM_OPS: readonly string[] = ['AveragePool', 'GlobalAveragePool', 'Add', 'Sum'];

const scalar = (ctx: RuleContext, v: number) => ctx.b.constFloat([v], []);
const positive = (ctx: RuleContext, t: string) => ctx.b.op1('Relu', [t]);
const negative = (ctx: RuleContext, t: string) => ctx.b.op1('Min', [t, scalar(ctx, 0)]);
const add = (ctx: RuleContext, ...t: string[]) => t.reduce((acc, v) => ctx.b.op1('Add', [acc, v]));
const mul = (ctx: RuleContext, p: string, q: string) => ctx.b.op1('Mul', [p, q]);

/** z + ε·sign(z) with sign(0) = +1: Zennit's `Stabilizer`, keeping denominators away from 0 with their sign. */
function stabilize(ctx: RuleContext, z: string, epsilon: number): string {
  const { b } = ctx;
  const e = scalar(ctx, epsilon);
  return b.op1('Where', [b.op1('Less', [z, scalar(ctx, 0)]), b.op1('Sub', [z, e]), b.op1('Add', [z, e])]);
}

/** R / stabilised z. */
const share = (ctx: RuleContext, z: string, epsilon: number, r = ctx.grads[0]!) =>
  ctx.b.op1('Div', [r, stabilize(ctx, z, epsilon)]);

/** Ones with the dims of `name`, or with batch 1 (`batchOne`, broadcast over the batch where used). */
function onesLike(ctx: RuleContext, name: string, batchOne: boolean): string {
  const dims = ctx.dims(name);
  return ctx.b.op1('Expand', [scalar(ctx, 1), ctx.b.constInt64(batchOne ? [1, ...dims.slice(1)] : dims)]);
}

/**
 * A Conv, Gemm or MatMul node as a linear map of its data input `x` (input 0) with weight `w` (input 1) and optional
 * bias (input 2): the node recomputed on other inputs, weights and bias, and the gradient with respect to its data
 * input through other weights (the operator's own gradient rule, so strides, groups and transposes stay right).
 */
class LinearLayer {
  readonly x: string;
  readonly w: string;
  readonly bias?: string;

  constructor(private readonly ctx: RuleContext) {
    [this.x, this.w, this.bias] = ctx.node.input;
    if (!this.bias) this.bias = undefined;
  }

  forward(x: string, w: string, bias?: string): string {
    return this.ctx.b.like(this.ctx.node, bias ? [x, w, bias] : [x, w]);
  }

  backward(g: string, w: string): string {
    const { ctx } = this;
    const node = { ...ctx.node, input: [this.x, w] } as onnx.NodeProto;
    const dims = (name: string) => ctx.dims(name === w ? this.w : name);
    return gradientRules[node.opType]({ ...ctx, node, grads: [g], needs: [true, false], dims })[0]!;
  }

  /** Weight and bias with `f` applied to both (a bias-less layer stays without). */
  params(f: (t: string) => string): [string, string | undefined] {
    return [f(this.w), this.bias && f(this.bias)];
  }
}

/** The data input's positive and negative parts, x⁺ = max(x, 0) and x⁻ = min(x, 0). */
function signParts(ctx: RuleContext, x: string): [string, string] {
  return [positive(ctx, x), negative(ctx, x)];
}

// Epsilon (Bach et al. 2015): R_in = x ⊙ Wᵀ(R / (z + ε·sign z)) with z the layer's output, bias included.
function epsilon(ctx: RuleContext, rule: RuleOf<'epsilon'>): (string | undefined)[] {
  const layer = new LinearLayer(ctx);
  const g = share(ctx, ctx.node.output[0], rule.epsilon);
  return [mul(ctx, layer.x, layer.backward(g, layer.w))];
}

// z⁺ (Montavon et al. 2017), as Zennit's ZPlus (alpha 1, beta 0, with negative inputs allowed):
// z = W⁺x⁺ + b⁺ + W⁻x⁻, R_in = x⁺ ⊙ W⁺ᵀ(R/z) + x⁻ ⊙ W⁻ᵀ(R/z).
function zPlus(ctx: RuleContext, rule: RuleOf<'z-plus'>): (string | undefined)[] {
  const layer = new LinearLayer(ctx);
  const [xp, xn] = signParts(ctx, layer.x);
  const [wp, bp] = layer.params((t) => positive(ctx, t));
  const wn = negative(ctx, layer.w);
  const g = share(ctx, add(ctx, layer.forward(xp, wp, bp), layer.forward(xn, wn)), rule.stabilizer);
  return [add(ctx, mul(ctx, xp, layer.backward(g, wp)), mul(ctx, xn, layer.backward(g, wn)))];
}

// αβ (Bach et al. 2015): the positive contributions (W⁺x⁺ + b⁺ + W⁻x⁻) weighted α, the negative ones
// (W⁻x⁺ + b⁻ + W⁺x⁻) weighted β, each normalised by its own sum; α − β = 1.
function alphaBeta(ctx: RuleContext, rule: RuleOf<'alpha-beta'>): (string | undefined)[] {
  const layer = new LinearLayer(ctx);
  const [xp, xn] = signParts(ctx, layer.x);
  const [wp, bp] = layer.params((t) => positive(ctx, t));
  const [wn, bn] = layer.params((t) => negative(ctx, t));
  const gp = share(ctx, add(ctx, layer.forward(xp, wp, bp), layer.forward(xn, wn)), rule.stabilizer);
  const gn = share(ctx, add(ctx, layer.forward(xp, wn, bn), layer.forward(xn, wp)), rule.stabilizer);
  const pos = add(ctx, mul(ctx, xp, layer.backward(gp, wp)), mul(ctx, xn, layer.backward(gp, wn)));
  const neg = add(ctx, mul(ctx, xp, layer.backward(gn, wn)), mul(ctx, xn, layer.backward(gn, wp)));
  return [ctx.b.op1('Sub', [mul(ctx, scalar(ctx, rule.alpha), pos), mul(ctx, scalar(ctx, rule.beta), neg)])];
}

// Generalised γ (Montavon et al. 2019; Andéol et al. 2021), as Zennit's Gamma: where the output z is positive,
// R is shared by (W + γW⁺)x⁺ + (b + γb⁺) + (W + γW⁻)x⁻; where it is negative, by (W + γW⁻)x⁺ + (b + γb⁻) + (W + γW⁺)x⁻.
function gamma(ctx: RuleContext, rule: RuleOf<'gamma'>): (string | undefined)[] {
  const { b } = ctx;
  const layer = new LinearLayer(ctx);
  const [xp, xn] = signParts(ctx, layer.x);
  const boosted = (part: (c: RuleContext, t: string) => string) =>
    layer.params((t) => b.op1('Add', [t, mul(ctx, scalar(ctx, rule.gamma), part(ctx, t))]));
  const [wpg, bpg] = boosted(positive);
  const [wng, bng] = boosted(negative);
  const z = ctx.node.output[0];
  const r = ctx.grads[0]!;
  const where = (cond: string) => b.op1('Where', [cond, r, scalar(ctx, 0)]);
  const upper = add(ctx, layer.forward(xp, wpg, bpg), layer.forward(xn, wng));
  const lower = add(ctx, layer.forward(xp, wng, bng), layer.forward(xn, wpg));
  const gp = share(ctx, upper, rule.stabilizer, where(b.op1('Greater', [z, scalar(ctx, 0)])));
  const gn = share(ctx, lower, rule.stabilizer, where(b.op1('Less', [z, scalar(ctx, 0)])));
  return [
    add(
      ctx,
      mul(ctx, xp, layer.backward(gp, wpg)),
      mul(ctx, xn, layer.backward(gp, wng)),
      mul(ctx, xp, layer.backward(gn, wng)),
      mul(ctx, xn, layer.backward(gn, wpg)),
    ),
  ];
}

/** A per-channel bound (one value, or one per channel of the data input) shaped [1, C, 1, …] and expanded to the input with batch 1. */
function bound(ctx: RuleContext, x: string, values: readonly number[], what: string): string {
  const dims = ctx.dims(x);
  const channels = dims[1];
  if (values.length !== 1 && values.length !== channels)
    throw new RangeError(
      `z-box rule on ${ctx.node.opType} node '${ctx.node.name}': ${values.length} ${what} bounds, expected 1 or ${channels} (one per input channel)`,
    );
  const shape = values.length === 1 ? [] : [1, channels, ...dims.slice(2).map(() => 1)];
  return ctx.b.op1('Expand', [ctx.b.constFloat(values, shape), ctx.b.constInt64([1, ...dims.slice(1)])]);
}

// z^B (Montavon et al. 2017) for inputs bounded by l ≤ x ≤ h: z = Wx + b − (W⁺l + b⁺) − (W⁻h + b⁻),
// R_in = x ⊙ Wᵀ(R/z) − l ⊙ W⁺ᵀ(R/z) − h ⊙ W⁻ᵀ(R/z).
function zBox(ctx: RuleContext, rule: RuleOf<'z-box'>): (string | undefined)[] {
  const { b } = ctx;
  const layer = new LinearLayer(ctx);
  const low = bound(ctx, layer.x, rule.low, 'low');
  const high = bound(ctx, layer.x, rule.high, 'high');
  const [wp, bp] = layer.params((t) => positive(ctx, t));
  const [wn, bn] = layer.params((t) => negative(ctx, t));
  const z = b.op1('Sub', [
    ctx.node.output[0],
    add(ctx, layer.forward(low, wp, bp), layer.forward(high, wn, bn)),
  ]);
  const g = share(ctx, z, rule.stabilizer);
  const bounds = add(ctx, mul(ctx, low, layer.backward(g, wp)), mul(ctx, high, layer.backward(g, wn)));
  return [b.op1('Sub', [mul(ctx, layer.x, layer.backward(g, layer.w)), bounds])];
}

// Flat (Lapuschkin et al. 2019): R spread over each output's receptive field evenly, as if inputs and weights
// were all 1 and there were no bias: R_in = 1ᵀ(R / z) with z = 1·1.
function flat(ctx: RuleContext, rule: RuleOf<'flat'>): (string | undefined)[] {
  const layer = new LinearLayer(ctx);
  const ones = onesLike(ctx, layer.w, false);
  const g = share(ctx, layer.forward(onesLike(ctx, layer.x, true), ones), rule.stabilizer);
  return [layer.backward(g, ones)];
}

// w² (Montavon et al. 2017): shares in proportion to squared weights, R_in = (W²)ᵀ(R / z) with z = W²·1 + b²
// (Zennit squares the bias too).
function wSquare(ctx: RuleContext, rule: RuleOf<'w-square'>): (string | undefined)[] {
  const layer = new LinearLayer(ctx);
  const [w2, b2] = layer.params((t) => mul(ctx, t, t));
  const g = share(ctx, layer.forward(onesLike(ctx, layer.x, true), w2, b2), rule.stabilizer);
  return [layer.backward(g, w2)];
}

// Norm (Zennit's rule for average pools and sums): each input's share of the output, R_i = x_i ⊙ ∂y/∂x_iᵀ(R / y).
function norm(ctx: RuleContext, rule: RuleOf<'norm'>): (string | undefined)[] {
  const g = share(ctx, ctx.node.output[0], rule.stabilizer);
  const grads = gradientRules[ctx.node.opType]({ ...ctx, grads: [g] });
  return ctx.node.input.map((x, i) => (ctx.needs[i] && grads[i] ? mul(ctx, x, grads[i]) : undefined));
}

// Pass: relevance goes through an elementwise layer unchanged.
const pass = (ctx: RuleContext): (string | undefined)[] => [ctx.grads[0]];

/** Whether a linear-layer rule applies: the data input carries relevance, the weight and bias are constants. */
const linearApplies = (_: onnx.NodeProto, needs: boolean[]) => needs[0] && !needs.slice(1).some(Boolean);

// A sum only where two or more inputs carry relevance (Zennit's Sum): a bias added after a layer keeps its gradient.
const normApplies = (node: onnx.NodeProto, needs: boolean[]) =>
  needs.filter(Boolean).length >= (node.opType === 'Add' || node.opType === 'Sum' ? 2 : 1);

/** The LRP rules by kind: the operators each applies to, when, and the nodes it emits. */
export const lrpRules = {
  epsilon: { ops: LINEAR_OPS, applies: linearApplies, emit: epsilon },
  'z-plus': { ops: LINEAR_OPS, applies: linearApplies, emit: zPlus },
  'alpha-beta': { ops: LINEAR_OPS, applies: linearApplies, emit: alphaBeta },
  gamma: { ops: LINEAR_OPS, applies: linearApplies, emit: gamma },
  'z-box': { ops: LINEAR_OPS, applies: linearApplies, emit: zBox },
  flat: { ops: LINEAR_OPS, applies: linearApplies, emit: flat },
  'w-square': { ops: LINEAR_OPS, applies: linearApplies, emit: wSquare },
  norm: { ops: NORM_OPS, applies: normApplies, emit: norm },
  pass: { ops: PASS_OPS, applies: (_: onnx.NodeProto, needs: boolean[]) => needs[0], emit: pass },
};
