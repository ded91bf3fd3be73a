import type { Attributes } from '../onnx/attributes.js';
import type { onnx } from '../onnx/proto.js';
import type { TensorInfo } from '../onnx/shape-inference.js';
import type { GraphBuilder } from './builder.js';

export type { TensorInfo };

/**
 * A backward rule for one node in place of its operator's gradient (Zennit's rules; each kind's definition is in
 * the file that emits it). Stabilised denominators are z + stabilizer·sign(z), with sign(0) = +1, as Zennit's.
 *
 * - `gradient`: the operator's true gradient (what unmatched nodes get).
 * - `guided`, `deconvnet` (rules/guided.ts): ReLU as guided backprop / the deconvnet pass gradients.
 * - `pass` (rules/lrp.ts): relevance passes an elementwise layer unchanged.
 * - `epsilon`, `gamma`, `z-plus`, `alpha-beta`, `z-box`, `flat`, `w-square` (rules/lrp.ts): LRP rules for Conv, Gemm
 *   and MatMul with a constant weight. `z-box` takes the lowest and highest input values, one per input channel
 *   (or one for all).
 * - `norm` (rules/lrp.ts): relevance split in proportion to each input's share of the output (average pools, sums).
 * - `rescale` (rules/deeplift.ts): DeepLIFT's rescale rule; the batch must hold the inputs then their references.
 */
export type Rule =
  | { kind: 'gradient' }
  | { kind: 'guided' }
  | { kind: 'deconvnet' }
  | { kind: 'pass' }
  | { kind: 'epsilon'; epsilon: number }
  | { kind: 'gamma'; gamma: number; stabilizer: number }
  | { kind: 'z-plus'; stabilizer: number }
  | { kind: 'alpha-beta'; alpha: number; beta: number; stabilizer: number }
  | { kind: 'z-box'; low: readonly number[]; high: readonly number[]; stabilizer: number }
  | { kind: 'flat'; stabilizer: number }
  | { kind: 'w-square'; stabilizer: number }
  | { kind: 'norm'; stabilizer: number }
  | { kind: 'rescale' };

/** One line of a composite: the nodes it selects (every condition given must hold) get `rule`. */
export interface RuleMapping {
  /** ONNX operator types. Default: every operator the rule applies to. */
  ops?: readonly string[];
  /** Layer paths (`features.0` selects every node named under it, as torch.onnx names them) or node names. */
  layers?: readonly string[];
  /** Only the first selected node on the backward path, in graph order (Zennit's first-layer map). */
  first?: boolean;
  rule: Rule;
}

/** Graph rewrites a composite makes before its rules apply: `merge-batch-norm` folds BatchNormalization into the Conv or Gemm before it. */
export type Canonizer = 'merge-batch-norm';

/**
 * Which backward rule each node gets (Zennit's composites): the first mapping that selects a node and whose rule
 * applies to it decides; nodes no mapping selects get their true gradient.
 */
export interface Composite {
  rules: readonly RuleMapping[];
  canonizers?: readonly Canonizer[];
}

/**
 * A loss on N×K logits compiled into the graph ("objective head"): the graph outputs its value per row and feeds
 * its gradient, in closed form, into the backward pass, so an objective that depends on the logits (as an
 * attack's loss does) costs one run instead of a forward pass to make seeds and a second pass to use them.
 * Each row i reads its class c (graph input `loss_classes`) and, for targeted DLR, its true label y (`loss_labels`):
 *
 * - `cross-entropy`: CE(z, c) = −log softmax(z)_c. An untargeted attack climbs it on the label, a targeted one
 *   descends it on the target (weight −1).
 * - `log-softmax`: log softmax(z)_c (the negated cross-entropy; a class's log-probability).
 * - `cw-margin` (Carlini & Wagner 2017, their f6): untargeted max(z_c − max_{j≠c} z_j, −κ) with c the label,
 *   targeted max(max_{j≠c} z_j − z_c, −κ) with c the target; attacks minimise it. `kappa` κ ≥ 0, default 0.
 * - `dlr` (Croce & Hein 2020, as AutoAttack computes it, π sorting the logits in decreasing order): untargeted
 *   −(z_c − max_{j≠c} z_j) / (z_π1 − z_π3 + 1e-12) with c the label; targeted
 *   −(z_y − z_c) / (z_π1 − (z_π3 + z_π4)/2 + 1e-12) with c the target and y the label; attacks maximise it.
 *   Needs K ≥ 3 (untargeted) or 4 (targeted).
 *
 * Where the loss has a kink (the max over other classes, the margin's floor, the sort), the gradient takes
 * autograd's branch: the first index on ties, and no gradient at the floor.
 */
export type ObjectiveHead =
  | { kind: 'cross-entropy' }
  | { kind: 'log-softmax' }
  | { kind: 'cw-margin'; targeted: boolean; kappa?: number }
  | { kind: 'dlr'; targeted: boolean };

/** An objective head and the logits it reads. */
export interface ObjectiveSpec {
  head: ObjectiveHead;
  /** The N×K class scores the head reads. Default: the model's first output. */
  logits?: string;
}

/** What a compiled gradient graph computes. */
export interface GradientSpec {
  /**
   * Tensors where the backward pass starts; each is seeded by a graph input named `d<tensor>`. Default: the
   * model's first output, or none when an objective head is given.
   */
  seeds?: string[];
  /**
   * A loss compiled onto the logits: its per-row value is the graph output `loss` (N), and its gradient, weighted
   * per row by the graph input `dloss` (N), joins the backward pass (added to any seed's).
   */
  objective?: ObjectiveSpec;
  /** Tensors to differentiate with respect to; each gradient is output as `d<tensor>`. Default: the model's first input. */
  wrt?: string[];
  /** Inner tensors whose forward values become extra outputs (under their own names). */
  expose?: string[];
  /** The backward rules; default: every node's true gradient. */
  composite?: Composite;
}

/** What a gradient rule sees of the node it differentiates. */
export interface RuleContext {
  node: onnx.NodeProto;
  attrs: Attributes;
  b: GraphBuilder;
  /** Gradient flowing into each output (undefined where none reaches it). */
  grads: (string | undefined)[];
  /** Whether each input needs a gradient. */
  needs: boolean[];
  dims(name: string): number[];
  /** Values of a constant integer (or small float) tensor, as numbers. */
  values(name: string): number[];
  /** A fresh output name added to the forward node (e.g. MaxPool's indices). */
  addOutput(index: number): string;
}

/** A gradient rule: from output gradients to input gradients (undefined for inputs that need none). */
export type GradientRule = (ctx: RuleContext) => (string | undefined)[];
