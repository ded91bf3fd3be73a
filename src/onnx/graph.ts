import { Attributes } from './attributes.js';
import { onnx, ModelError } from './proto.js';
import { decodeTensor, type DecodedTensor } from './tensor-proto.js';

/** A read-only index over a graph: who produces and who consumes each tensor, initializers, constants. */
export class GraphView {
  readonly producer = new Map<string, onnx.NodeProto>();
  readonly consumers = new Map<string, onnx.NodeProto[]>();
  readonly initializers = new Map<string, onnx.TensorProto>();
  /** Graph inputs that are not initializers: what a caller feeds. */
  readonly inputs: string[];
  readonly outputs: string[];

  constructor(readonly graph: onnx.GraphProto) {
    for (const init of graph.initializer) this.initializers.set(init.name, init);
    for (const node of graph.node) {
      for (const out of node.output) if (out) this.producer.set(out, node);
      for (const inp of node.input) {
        if (!inp) continue;
        const list = this.consumers.get(inp) ?? [];
        list.push(node);
        this.consumers.set(inp, list);
      }
    }
    this.inputs = graph.input.map((i) => i.name).filter((n) => !this.initializers.has(n));
    this.outputs = graph.output.map((o) => o.name);
  }

  /** Every tensor name in the graph: inputs, initializers and node outputs. */
  tensorNames(): Set<string> {
    const names = new Set<string>([...this.inputs, ...this.initializers.keys()]);
    for (const node of this.graph.node) for (const out of node.output) if (out) names.add(out);
    return names;
  }

  /** The value of a tensor known without running the graph: an initializer or a Constant node's output. */
  constantValue(name: string): DecodedTensor | undefined {
    const init = this.initializers.get(name);
    if (init) return decodeTensor(init);
    const node = this.producer.get(name);
    if (node?.opType === 'Constant') {
      const t = new Attributes(node).tensor('value');
      if (!t) throw new ModelError(`Constant node '${node.name}': only the 'value' attribute is supported`);
      return decodeTensor(t);
    }
    return undefined;
  }

  /** The node that produces the output of a layer given by module path (`features.12`): the last node named under it. */
  nodeForLayer(path: string): onnx.NodeProto | undefined {
    let found: onnx.NodeProto | undefined;
    for (const node of this.graph.node) if (inLayer(node, path)) found = node;
    return found;
  }
}

/** Whether torch.onnx named `node` under the module path `path` (`features.3` → `/features/features.3/…`). */
export function inLayer(node: onnx.NodeProto, path: string): boolean {
  const prefix = `/${path
    .split('.')
    .reduce<string[]>((acc, part) => {
      acc.push(acc.length ? `${acc[acc.length - 1]}.${part}` : part);
      return acc;
    }, [])
    .join('/')}/`;
  return node.name.startsWith(prefix);
}
