import type { Attributes } from '../onnx/attributes.js';
import type { onnx } from '../onnx/proto.js';
import type { TensorInfo } from '../onnx/shape-inference.js';
import type { GraphBuilder } from './builder.js';

export type { TensorInfo };

/** How gradients pass back through ReLU: autograd's rule, guided backprop's, or the deconvnet's. */
export type ReluRule = 'standard' | 'guided' | 'deconvnet';

/** What a compiled gradient graph computes. */
export interface GradientSpec {
  /** Tensors where the backward pass starts; each is seeded by a graph input named `d<tensor>`. Default: the model's first output. */
  seeds?: string[];
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
