import type { Attributes } from '../onnx/attributes.js';
import type { onnx } from '../onnx/proto.js';
import type { TensorInfo } from '../onnx/shape-inference.js';
import type { GraphBuilder } from './builder.js';

export type { TensorInfo };

/** How gradients pass back through ReLU: autograd's rule, guided backprop's, or the deconvnet's. */
export type ReluRule = 'standard' | 'guided' | 'deconvnet';

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
  /** Backward rule for Relu nodes; default `standard`. */
  relu?: ReluRule;
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
  relu: ReluRule;
  dims(name: string): number[];
  /** Values of a constant integer (or small float) tensor, as numbers. */
  values(name: string): number[];
  /** A fresh output name added to the forward node (e.g. MaxPool's indices). */
  addOutput(index: number): string;
}

/** A gradient rule: from output gradients to input gradients (undefined for inputs that need none). */
export type GradientRule = (ctx: RuleContext) => (string | undefined)[];
