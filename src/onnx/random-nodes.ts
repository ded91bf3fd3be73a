import { GraphView } from './graph.js';
import { onnx } from './proto.js';

/** ONNX operators that draw new random numbers on every run (the operator specs' generators). */
const SAMPLERS: ReadonlySet<string> = new Set([
  'RandomNormal',
  'RandomNormalLike',
  'RandomUniform',
  'RandomUniformLike',
  'Bernoulli',
  'Multinomial',
]);

/**
 * The nodes of `model` whose outputs are random, by op type and name, looked for in its graph, every subgraph (If,
 * Loop, Scan bodies) and its local functions: ONNX's samplers (RandomNormal, RandomUniform and their -Like forms,
 * Bernoulli, Multinomial), and Dropout whose training_mode input is not a constant false (while it is true, Dropout
 * zeroes units at random; without that input it is the identity). Empty when the same input always gives the same
 * outputs, e.g. for expectation over transformation (EOT), which then has nothing to average.
 */
export function randomNodes(model: onnx.ModelProto): { opType: string; node: string }[] {
  const found: { opType: string; node: string }[] = [];
  const visit = (graph: onnx.GraphProto) => {
    const view = new GraphView(graph);
    for (const node of graph.node) {
      if (SAMPLERS.has(node.opType) || (node.opType === 'Dropout' && !trainingModeOff(view, node)))
        found.push({ opType: node.opType, node: node.name });
      for (const a of node.attribute)
        for (const g of [a.g, ...(a.graphs ?? [])]) if (g) visit(g as onnx.GraphProto);
    }
  };
  visit(model.graph);
  for (const f of model.functions ?? [])
    visit(onnx.GraphProto.create({ node: f.node, initializer: [] }) as onnx.GraphProto);
  return found;
}

// Whether a Dropout node's training_mode (its third input) is absent or a constant false: a value known only at run
// time (a graph input, an outer scope's tensor) may be true.
function trainingModeOff(view: GraphView, node: onnx.NodeProto): boolean {
  const name = node.input[2];
  if (!name) return true;
  try {
    const value = view.constantValue(name);
    return value !== undefined && Array.from(value.data, Number).every((v) => v === 0);
  } catch {
    return false;
  }
}
