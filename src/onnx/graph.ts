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

  /**
   * The node that produces the output of a layer given by module path (`features.12`, `encoder.layers.encoder_layer_2.ln_1`):
   * the last node named under it. torch.onnx names each scope by the module's own name, gluing numeric names (children
   * of a Sequential) to the name before them: `features.7.0.block.4` is `/features/features.7/features.7.0/block/block.4/`.
   */
  nodeForLayer(path: string): onnx.NodeProto | undefined {
    const prefix = `/${moduleScopes(path).join('/')}/`;
    let found: onnx.NodeProto | undefined;
    for (const node of this.graph.node) if (node.name.startsWith(prefix)) found = node;
    return found;
  }
}

/** Whether torch.onnx named `node` under the module path `path` (see `nodeForLayer`). */
export function inLayer(node: onnx.NodeProto, path: string): boolean {
  return node.name.startsWith(`/${moduleScopes(path).join('/')}/`);
}

const numeric = (atom: string) => /^\d+$/.test(atom);

/** torch.onnx's scope names of a module path, outermost first (see `nodeForLayer`). */
export function moduleScopes(path: string): string[] {
  const atoms = path.split('.');
  return atoms.map((_, i) => {
    let from = i;
    while (from > 0 && numeric(atoms[from])) from--;
    return atoms.slice(from, i + 1).join('.');
  });
}

/** The module path of a torch.onnx node name's scopes (`/features/features.7/block/block.4/Conv` → `features.7.block.4`); the inverse of `moduleScopes`. */
export function modulePath(nodeName: string): string {
  const scopes = nodeName.split('/').filter(Boolean).slice(0, -1);
  const atoms: string[] = [];
  for (const scope of scopes) {
    const parts = scope.split('.');
    const lead = parts.slice(0, -1);
    const glued = lead.length > 0 && lead.join('.') === atoms.slice(-lead.length).join('.');
    atoms.push(...(glued ? parts.slice(-1) : parts));
  }
  return atoms.join('.');
}
