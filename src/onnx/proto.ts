import onnxProto from 'onnx-proto';

/** The generated ONNX protobuf classes (ModelProto, GraphProto, NodeProto, TensorProto, ...). */
export const onnx = onnxProto.onnx;
// Decoded messages are class instances all the way down; these types say so (the generated ones type
// nested messages as their I* property interfaces).
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace onnx {
  type TensorProto = onnxProto.onnx.TensorProto;
  type ValueInfoProto = onnxProto.onnx.ValueInfoProto;
  type AttributeProto = Omit<onnxProto.onnx.AttributeProto, 't'> & { t?: TensorProto | null };
  type NodeProto = Omit<onnxProto.onnx.NodeProto, 'attribute'> & { attribute: AttributeProto[] };
  type GraphProto = Omit<onnxProto.onnx.GraphProto, 'node' | 'initializer' | 'input' | 'output'> & {
    node: NodeProto[];
    initializer: TensorProto[];
    input: ValueInfoProto[];
    output: ValueInfoProto[];
  };
  type ModelProto = Omit<onnxProto.onnx.ModelProto, 'graph'> & { graph: GraphProto };
}

/** An ONNX file that cannot be used: unreadable, not a model, or holding something netvis does not support. */
export class ModelError extends Error {
  override name = 'ModelError';
}

/** Decodes ONNX ModelProto bytes; `source` names the file in errors. */
export function decodeModel(bytes: Uint8Array, source = 'model'): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes) as onnx.ModelProto;
  } catch (err) {
    throw new ModelError(
      `${source}: not a valid ONNX model (truncated or corrupt: ${(err as Error).message})`,
    );
  }
  if (!model.graph || model.graph.node.length === 0 || model.graph.output.length === 0) {
    throw new ModelError(`${source}: not a valid ONNX model (no graph, nodes or outputs)`);
  }
  return model;
}

/** Encodes a ModelProto to bytes. */
export function encodeModel(model: onnx.ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model as onnxProto.onnx.IModelProto).finish();
}

/**
 * A copy of a model to edit: graph, nodes and lists are new, the initializers (the weights, never edited in
 * place) are shared, so a copy costs no weight memory.
 */
export function cloneModel(model: onnx.ModelProto): onnx.ModelProto {
  const weights = model.graph.initializer;
  let copy: onnx.ModelProto;
  try {
    model.graph.initializer = [];
    copy = onnx.ModelProto.decode(encodeModel(model)) as onnx.ModelProto;
  } finally {
    model.graph.initializer = weights;
  }
  copy.graph.initializer = [...weights];
  return copy;
}

/** The bytes of `model` with its graph outputs replaced by the tensors `outputs` (the model is left as it was). */
export function encodeWithOutputs(model: onnx.ModelProto, outputs: readonly string[]): Uint8Array {
  const original = model.graph.output;
  try {
    model.graph.output = outputs.map((name) => onnx.ValueInfoProto.create({ name }));
    return encodeModel(model);
  } finally {
    model.graph.output = original;
  }
}

/** The model's ai.onnx opset version (the default domain). */
export function defaultOpset(model: onnx.ModelProto): number {
  const imp = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!imp) throw new ModelError('model imports no ai.onnx opset');
  return Number(imp.version);
}
