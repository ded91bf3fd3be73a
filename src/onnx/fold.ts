import type { onnx } from './proto.js';
import type { TensorInfo } from './shape-inference.js';
import { dataTypeCode, encodeTensor } from './tensor-proto.js';

/**
 * Replaces the nodes whose outputs all have static values in `info` (the shape arithmetic exporters write:
 * Shape → Gather → Concat → Reshape, Swin's Range/Mod/Where masks) by initializers holding those values, then
 * drops every node (and initializer) nothing reads any more. `info` must hold values that are true for every input the
 * graph will be fed (as `tensorInfo`'s are: never those of tensors computed from the fed values); graph
 * outputs are never folded.
 * A graph compiled for fixed dims loses most of its nodes this way (Swin-T: 6357 → about 1200), which is
 * what ONNX Runtime's session creation time grows with.
 */
export function foldConstants(graph: onnx.GraphProto, info: ReadonlyMap<string, TensorInfo>): void {
  const outputs = new Set(graph.output.map((o) => o.name));
  const foldable = (name: string) => {
    const i = info.get(name);
    return !!i?.value && dataTypeCode(i.type) !== undefined && !outputs.has(name);
  };
  const folded = new Set<string>();
  const nodes = graph.node.filter((node) => {
    const outs = node.output.filter(Boolean);
    if (outs.length === 0 || !outs.every(foldable)) return true;
    for (const o of outs) folded.add(o);
    return false;
  });
  // Walk back from the outputs: a node stays when something downstream reads one of its outputs.
  const read = new Set(outputs);
  const live: onnx.NodeProto[] = [];
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k];
    if (!node.output.some((o) => o && read.has(o))) continue;
    live.push(node);
    for (const i of node.input) if (i) read.add(i);
  }
  graph.node = live.reverse();
  // Initializers only the dropped nodes read go too (and their graph inputs, in models that list them).
  const stored = new Set(graph.initializer.map((t) => t.name));
  graph.initializer = graph.initializer.filter((t) => read.has(t.name));
  graph.input = graph.input.filter((i) => read.has(i.name) || !stored.has(i.name));
  for (const name of folded) {
    if (!read.has(name)) continue;
    const i = info.get(name)!;
    graph.initializer.push(encodeTensor(name, i.type, i.dims, i.value!));
  }
}
