// Composites (Zennit's idea): which backward rule each node gets, by operator kind, layer path or first layer, and
// the composites netvis's methods use. The compiler asks `assignRules` once per graph.
import { inLayer } from '../onnx/graph.js';
import { ModelError, type onnx } from '../onnx/proto.js';
import { ACTIVATION_OPS } from './rules/common.js';
import { LINEAR_OPS, NORM_OPS } from './rules/lrp.js';
import { modifiedRules, type ModifiedRule } from './rules/modified.js';
import type { Composite, Rule, RuleMapping } from './types.js';

/**
 * The rule each of `nodes` (the nodes on the backward path, in graph order) gets under `composite`: for each node the
 * first mapping that selects it (operator, layer, first-ness) and whose rule applies to it (`needs(node)`: which
 * inputs carry a gradient). Nodes no mapping takes are left out (they get their true gradient). Throws a ModelError
 * when a mapping names an operator its rule is not defined for.
 */
export function assignRules(
  nodes: readonly onnx.NodeProto[],
  composite: Composite,
  needs: (node: onnx.NodeProto) => boolean[],
): Map<onnx.NodeProto, Rule> {
  for (const m of composite.rules) {
    const variant = modifiedRules[m.rule.kind];
    const foreign = m.ops?.find((op) => !variant.ops.includes(op));
    if (foreign)
      throw new ModelError(`composite: the '${m.rule.kind}' rule is not defined for ${foreign} nodes`);
  }
  const used = new Set<RuleMapping>();
  const assigned = new Map<onnx.NodeProto, Rule>();
  for (const node of nodes) {
    const m = composite.rules.find((m) => !used.has(m) && selects(m, node, needs));
    if (!m) continue;
    if (m.first) used.add(m);
    assigned.set(node, m.rule);
  }
  return assigned;
}

function selects(m: RuleMapping, node: onnx.NodeProto, needs: (node: onnx.NodeProto) => boolean[]): boolean {
  const variant: ModifiedRule = modifiedRules[m.rule.kind];
  if (!(m.ops ?? variant.ops).includes(node.opType)) return false;
  if (m.layers && !m.layers.some((l) => node.name === l || inLayer(node, l))) return false;
  return variant.applies?.(node, needs(node)) ?? true;
}

/** Guided backpropagation (Springenberg et al. 2015): every ReLU gets the `guided` rule. */
export const GUIDED_BACKPROP: Composite = { rules: [{ ops: ['Relu'], rule: { kind: 'guided' } }] };

/** The deconvnet (Zeiler & Fergus 2014): every ReLU gets the `deconvnet` rule. */
export const DECONVNET: Composite = { rules: [{ ops: ['Relu'], rule: { kind: 'deconvnet' } }] };

/** DeepLIFT (Shrikumar et al. 2017) as Captum's DeepLift: the rescale rule on every elementwise nonlinearity and MaxPool. */
export const DEEPLIFT_RESCALE: Composite = { rules: [{ rule: { kind: 'rescale' } }] };

/** Parameters of the LRP composites (Zennit's defaults). */
export interface LrpParameters {
  /** The ε of the `epsilon` rule on dense layers; default 1e-6. */
  epsilon?: number;
  /** The stabilizer of every other rule; default 1e-6. */
  stabilizer?: number;
}

const DENSE_OPS = ['Gemm', 'MatMul'];

// Zennit's layer_map_base: activations pass relevance, average pools and sums share it by contribution, a
// BatchNormalization left unmerged passes it. BatchNormalization is merged into the Conv before it first.
function lrpComposite(stabilizer: number, rules: RuleMapping[], first?: RuleMapping): Composite {
  return {
    rules: [
      ...(first ? [first] : []),
      { ops: ACTIVATION_OPS, rule: { kind: 'pass' } },
      { ops: NORM_OPS, rule: { kind: 'norm', stabilizer } },
      { ops: ['BatchNormalization'], rule: { kind: 'pass' } },
      ...rules,
    ],
    canonizers: ['merge-batch-norm'],
  };
}

/**
 * Zennit's EpsilonPlusFlat: `flat` on the first linear layer (Conv, Gemm or MatMul), `z-plus` on every other Conv,
 * `epsilon` on the other dense layers (Gemm, MatMul); activations `pass`, average pools and sums `norm`.
 */
export function epsilonPlusFlat({ epsilon = 1e-6, stabilizer = 1e-6 }: LrpParameters = {}): Composite {
  return lrpComposite(
    stabilizer,
    [
      { ops: ['Conv'], rule: { kind: 'z-plus', stabilizer } },
      { ops: DENSE_OPS, rule: { kind: 'epsilon', epsilon } },
    ],
    { ops: LINEAR_OPS, first: true, rule: { kind: 'flat', stabilizer } },
  );
}

/**
 * Zennit's EpsilonGammaBox: `z-box` on the first Conv with the input's bounds `low` and `high` (one per input channel,
 * in the model's units), `gamma` (default γ 0.25) on every other Conv, `epsilon` on dense layers; activations `pass`,
 * average pools and sums `norm`.
 */
export function epsilonGammaBox({
  low,
  high,
  gamma = 0.25,
  epsilon = 1e-6,
  stabilizer = 1e-6,
}: LrpParameters & { low: readonly number[]; high: readonly number[]; gamma?: number }): Composite {
  return lrpComposite(
    stabilizer,
    [
      { ops: ['Conv'], rule: { kind: 'gamma', gamma, stabilizer } },
      { ops: DENSE_OPS, rule: { kind: 'epsilon', epsilon } },
    ],
    { ops: ['Conv'], first: true, rule: { kind: 'z-box', low, high, stabilizer } },
  );
}

/** Zennit's EpsilonAlpha2Beta1: `alpha-beta` with α 2, β 1 on every Conv, `epsilon` on dense layers; activations `pass`, average pools and sums `norm`. */
export function epsilonAlpha2Beta1({ epsilon = 1e-6, stabilizer = 1e-6 }: LrpParameters = {}): Composite {
  return lrpComposite(stabilizer, [
    { ops: ['Conv'], rule: { kind: 'alpha-beta', alpha: 2, beta: 1, stabilizer } },
    { ops: DENSE_OPS, rule: { kind: 'epsilon', epsilon } },
  ]);
}
