import type { TensorInfo } from '../autodiff/types.js';
import { GraphView } from '../onnx/graph.js';
import { cloneModel, encodeModel, onnx } from '../onnx/proto.js';
import { decodeTensor } from '../onnx/tensor-proto.js';
import type { Backend, RuntimeTensor } from './backend.js';

// Float tensors this small keep their values (Clip bounds, Pad values and the like).
const SMALL = 64;

/**
 * Runs the model once with every intermediate tensor as an output and records each tensor's type and
 * dims (and the values of integer and tiny tensors): the static facts the gradient compiler needs.
 */
export async function probeTensorInfo(
  backend: Backend,
  source: onnx.ModelProto,
  feeds: Record<string, RuntimeTensor>,
): Promise<Map<string, TensorInfo>> {
  const model = cloneModel(source);
  const view = new GraphView(model.graph);
  const info = new Map<string, TensorInfo>();
  const keep = (type: TensorInfo['type'], size: number) => !type.startsWith('float') || size <= SMALL;
  for (const [name, init] of view.initializers) {
    const t = decodeTensor(init);
    info.set(name, { type: t.type, dims: t.dims, value: keep(t.type, t.data.length) ? t.data : undefined });
  }
  for (const [name, t] of Object.entries(feeds)) info.set(name, { type: t.type, dims: t.dims });
  const existing = new Set(view.outputs);
  for (const node of model.graph.node) {
    for (const o of node.output) {
      if (o && !existing.has(o)) model.graph.output.push(onnx.ValueInfoProto.create({ name: o }));
    }
  }
  const session = await backend.createSession(encodeModel(model));
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
