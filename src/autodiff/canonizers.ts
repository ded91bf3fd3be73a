// Canonizers (Zennit's idea): rewrites of the forward graph, computing the same function, into a form modified
// rules are defined on. A composite names those it needs; the compiler applies them to its copy of the model.
import { Attributes } from '../onnx/attributes.js';
import { GraphView } from '../onnx/graph.js';
import type { onnx } from '../onnx/proto.js';
import { encodeTensor, type DecodedTensor } from '../onnx/tensor-proto.js';
import type { Canonizer, TensorInfo } from './types.js';

/**
 * Applies `canonizers` to `graph` in place, never removing a tensor in `keep` (tensors the gradient spec names).
 * Returns the type and dims of the tensors it adds.
 */
export function canonize(
  graph: onnx.GraphProto,
  canonizers: readonly Canonizer[],
  keep: ReadonlySet<string>,
): Map<string, TensorInfo> {
  const added = new Map<string, TensorInfo>();
  for (const c of canonizers) if (c === 'merge-batch-norm') mergeBatchNorm(graph, keep, added);
  return added;
}

type FloatTensor = DecodedTensor & { data: Float32Array | Float64Array };
const isFloat = (t: DecodedTensor | undefined): t is FloatTensor =>
  t?.type === 'float32' || t?.type === 'float64';

/**
 * Folds each BatchNormalization that reads a Conv's output, where nothing else reads that output, into the Conv (as
 * Zennit's SequentialMergeBatchNorm): with s = scale/√(var + ε), W'ₘ = Wₘ·sₘ and b'ₘ = (bₘ − meanₘ)·sₘ + Bₘ, and the
 * Conv writes the BatchNormalization's output. Only constant weights and parameters fold (initializers or Constant
 * nodes); a BatchNormalization that does not fold stays as it is.
 */
function mergeBatchNorm(
  graph: onnx.GraphProto,
  keep: ReadonlySet<string>,
  added: Map<string, TensorInfo>,
): void {
  const view = new GraphView(graph);
  const names = view.tensorNames();
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; names.has(name); k++) name = `${base}_${k}`;
    names.add(name);
    return name;
  };
  const outputs = new Set(graph.output.map((o) => o.name));
  const dropped = new Set<onnx.NodeProto>();
  for (const bn of graph.node) {
    if (bn.opType !== 'BatchNormalization' || bn.output.filter(Boolean).length !== 1) continue;
    if (new Attributes(bn).int('training_mode', 0) !== 0) continue;
    const convOut = bn.input[0];
    const conv = view.producer.get(convOut);
    if (conv?.opType !== 'Conv' || view.consumers.get(convOut)?.length !== 1) continue;
    if (keep.has(convOut) || outputs.has(convOut)) continue;
    const w = view.constantValue(conv.input[1]);
    const bias = conv.input[2] ? view.constantValue(conv.input[2]) : undefined;
    const params = bn.input.slice(1, 5).map((n) => view.constantValue(n));
    if (!isFloat(w) || (bias && !isFloat(bias)) || !params.every(isFloat)) continue;
    const [scale, shift, mean, variance] = params as FloatTensor[];
    const eps = new Attributes(bn).float('epsilon', 1e-5);
    const m = w.dims[0];
    const per = w.data.length / m;
    const newW = new (w.data.constructor as Float32ArrayConstructor)(w.data.length);
    const newB = new (w.data.constructor as Float32ArrayConstructor)(m);
    for (let c = 0; c < m; c++) {
      const s = scale.data[c] / Math.sqrt(variance.data[c] + eps);
      for (let k = 0; k < per; k++) newW[c * per + k] = w.data[c * per + k] * s;
      newB[c] = (Number(bias?.data[c] ?? 0) - mean.data[c]) * s + shift.data[c];
    }
    const wName = fresh(`${conv.input[1]}_merged`);
    const bName = fresh(`${conv.input[2] || `${conv.name}_bias`}_merged`);
    graph.initializer.push(encodeTensor(wName, w.type, w.dims, newW));
    graph.initializer.push(encodeTensor(bName, w.type, [m], newB));
    added.set(wName, { type: w.type, dims: w.dims });
    added.set(bName, { type: w.type, dims: [m] });
    conv.input = [conv.input[0], wName, bName];
    conv.output = [bn.output[0]];
    dropped.add(bn);
  }
  graph.node = graph.node.filter((n) => !dropped.has(n));
}
