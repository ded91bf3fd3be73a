import { GraphView } from './graph.js';
import { cloneModel, ModelError, onnx } from './proto.js';

/**
 * The part of `source` after the tensor `start`: `start` becomes a float32 graph input (its shape left open) and only
 * the nodes the graph's outputs need, given `start`, are kept, so a run feeds the layer's values and skips everything
 * before it. When the outputs also read an original graph input by another path (a residual connection around the
 * tensor), throws a ModelError naming `start`, or with `keepInputs` keeps that input (and the nodes on the other
 * path) as a second graph input: a run then feeds both, as a forward hook that replaces the tensor would. Throws a
 * ModelError when `start` is not in the graph.
 */
export function modelDownstreamOf(
  source: onnx.ModelProto,
  start: string,
  { keepInputs = false }: { keepInputs?: boolean } = {},
): onnx.ModelProto {
  const model = cloneModel(source);
  const graph = model.graph;
  const view = new GraphView(graph);
  if (!view.producer.has(start)) throw new ModelError(`no node computes a tensor named '${start}'`);
  const needed = new Set(view.outputs);
  const kept = new Set<onnx.NodeProto>();
  for (let k = graph.node.length - 1; k >= 0; k--) {
    const node = graph.node[k];
    if (!node.output.some((o) => o && o !== start && needed.has(o))) continue;
    kept.add(node);
    for (const i of node.input) if (i) needed.add(i);
  }
  const reads = view.inputs.filter((i) => needed.has(i) && !view.initializers.has(i));
  if (reads.length && !keepInputs) throw new ModelError(bypassMessage(start, reads));
  graph.node = graph.node.filter((n) => kept.has(n));
  graph.initializer = graph.initializer.filter((t) => needed.has(t.name));
  graph.input = [
    onnx.ValueInfoProto.create({
      name: start,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } },
    }) as onnx.ValueInfoProto,
    ...graph.input.filter((i) => needed.has(i.name) && (keepInputs || view.initializers.has(i.name))),
  ];
  return model;
}

/** Why the graph after `start` cannot run from it alone: it also reads the graph inputs `reads` by another path. */
export function bypassMessage(start: string, reads: readonly string[]): string {
  return `the graph after '${start}' also reads the input ${reads.map((r) => `'${r}'`).join(', ')} directly: it cannot run from '${start}' alone`;
}
