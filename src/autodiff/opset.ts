import { defaultOpset, ModelError, type onnx } from '../onnx/proto.js';

/** The opset the backward graph's operators need (ScatterElements with reduction=add). */
export const GRADIENT_OPSET = 16;

// Opset versions at which an operator's meaning (not just its accepted types) changed: a model below
// one of these cannot be relabelled to GRADIENT_OPSET without rewriting the node.
const MEANING_CHANGED: Record<string, number[]> = {
  Softmax: [13],
  LogSoftmax: [13],
  Hardmax: [13],
  Squeeze: [13],
  Unsqueeze: [13],
  ReduceSum: [13],
  Split: [13],
  Clip: [11],
  Pad: [11],
  Dropout: [12],
  Slice: [10],
  Upsample: [9, 10],
  Resize: [11, 13],
  BatchNormalization: [9, 14, 15],
  TopK: [10],
};

/** Raises the model's ai.onnx opset to at least GRADIENT_OPSET, refusing when a node's meaning would change. */
export function raiseOpset(model: onnx.ModelProto): void {
  const from = defaultOpset(model);
  if (from >= GRADIENT_OPSET) return;
  for (const node of model.graph.node) {
    if (node.domain && node.domain !== 'ai.onnx') continue;
    const change = MEANING_CHANGED[node.opType]?.find((v) => v > from && v <= GRADIENT_OPSET);
    if (change !== undefined) {
      throw new ModelError(
        `${node.opType} node '${node.name}': the model uses opset ${from}, and ${node.opType} changed meaning at opset ${change}; ` +
          `gradients need opset ${GRADIENT_OPSET}. Re-export the model with opset ${GRADIENT_OPSET} or later.`,
      );
    }
  }
  const imp = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')!;
  imp.version = GRADIENT_OPSET;
  if (Number(model.irVersion) < 8) model.irVersion = 8;
}
