import { encodeWithOutputs, ModelError, type onnx } from '../onnx/proto.js';
import { inferTensorInfo, type TensorInfo } from '../onnx/shape-inference.js';
import { decodeTensor, type ElementType, type TypedData } from '../onnx/tensor-proto.js';
import { GraphView } from '../onnx/graph.js';
import type { Backend, RuntimeTensor } from './backend.js';

// Float tensors this small keep their values (Clip bounds, Pad values and the like).
const SMALL = 64;

/**
 * Every tensor's type and dims (and the values of integer and small float tensors) when the model is fed
 * tensors of the given types and dims: inferred statically (`inferTensorInfo`), with a forward run on
 * zeros that outputs only the tensors inference cannot know (operators without a shape rule, shapes read
 * from the fed values), never the whole graph. Values that depend on the fed values are not recorded, so
 * the facts hold for any input of these dims (only the dims of an operator whose output size depends on
 * the fed values, such as NonZero, are those of zeros). Throws what the backend throws when the model
 * cannot run.
 */
export async function tensorInfo(
  backend: Backend,
  model: onnx.ModelProto,
  inputs: Record<string, { type: ElementType; dims: number[] }>,
): Promise<Map<string, TensorInfo>> {
  const known = new Map<string, TensorInfo>();
  for (;;) {
    const inferred = inferTensorInfo(model, inputs, known);
    if (inferred.unresolved.length === 0) return inferred.info;
    const feeds = Object.fromEntries(
      Object.entries(inputs).map(([name, t]) => [name, { ...t, data: zeros(t.type, t.dims) }]),
    );
    const probed = await probeTensorInfo(backend, model, feeds, inferred.unresolved);
    for (const name of inferred.unresolved) {
      const facts = probed.get(name);
      if (!facts) throw new ModelError(`${backend.name} did not output tensor '${name}' of the model`);
      known.set(name, facts);
    }
  }
}

function zeros(type: ElementType, dims: number[]): TypedData {
  const n = dims.reduce((a, b) => a * b, 1);
  switch (type) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'int32':
      return new Int32Array(n);
    default:
      return new Uint8Array(n);
  }
}

/**
 * Runs the model once on `feeds` with the tensors `names` as outputs (default: every tensor, plus the
 * initializers and feeds) and records each one's type and dims, and the values of integer and tiny
 * tensors: what a run tells of these feeds, values included (`tensorInfo` keeps only what holds for any
 * input).
 */
export async function probeTensorInfo(
  backend: Backend,
  model: onnx.ModelProto,
  feeds: Record<string, RuntimeTensor>,
  names?: readonly string[],
): Promise<Map<string, TensorInfo>> {
  const info = new Map<string, TensorInfo>();
  const keep = (type: TensorInfo['type'], size: number) => !type.startsWith('float') || size <= SMALL;
  let outputs = names;
  if (!outputs) {
    const view = new GraphView(model.graph);
    for (const [name, init] of view.initializers) {
      const t = decodeTensor(init);
      info.set(name, { type: t.type, dims: t.dims, value: keep(t.type, t.data.length) ? t.data : undefined });
    }
    for (const [name, t] of Object.entries(feeds)) info.set(name, { type: t.type, dims: t.dims });
    outputs = model.graph.node.flatMap((n) => n.output.filter(Boolean));
  }
  const session = await backend.createSession(encodeWithOutputs(model, outputs));
  try {
    const out = await session.run(feeds);
    for (const [name, t] of Object.entries(out)) {
      info.set(name, { type: t.type, dims: t.dims, value: keep(t.type, t.data.length) ? t.data : undefined });
    }
  } finally {
    await session.release();
  }
  return info;
}
