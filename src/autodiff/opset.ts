import { defaultOpset, ModelError, type onnx } from '../onnx/proto.js';
import { NEWEST_OPSET } from '../onnx/opset-convert.js';

/**
 * The oldest ai.onnx opset at which every node the gradient compiler emits has the form it writes (ScatterElements
 * with reduction=add needs 16; ReduceSum/Split with axes and sizes as inputs need 13; CastLike 15). Those forms are
 * unchanged up to NEWEST_OPSET, so a model at any opset from here to there gets its backward nodes at its own opset.
 */
export const GRADIENT_OPSET = 16;

/**
 * Checks that the backward nodes can be added to `model` at its opset. The model's own nodes are not looked at: a
 * model below GRADIENT_OPSET must be converted first (`convertOpset`, which loading a classifier does), so a refusal
 * never names a node the compiler itself emitted. Throws a ModelError otherwise.
 */
export function checkGradientOpset(model: onnx.ModelProto): void {
  const version = defaultOpset(model);
  if (version < GRADIENT_OPSET || version > NEWEST_OPSET)
    throw new ModelError(
      `the model is at opset ${version}; the backward graph is written for opsets ${GRADIENT_OPSET} to ${NEWEST_OPSET} ` +
        `(convert older models with convertOpset from netvis's onnx module, as loadClassifier does)`,
    );
}
