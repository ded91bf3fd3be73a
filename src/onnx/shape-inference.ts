import { Attributes } from './attributes.js';
import { defaultOpset, onnx } from './proto.js';
import { shapeRules } from './shape-rules/index.js';
import { CannotInfer, isFloat, size, type Facts, type ShapeContext } from './shape-rules/common.js';
import { decodeTensor, elementType, type ElementType, type TypedData } from './tensor-proto.js';

/** Static facts about one tensor at the input dims the graph is run with; `value` for integer tensors. */
export interface TensorInfo {
  type: ElementType;
  dims: number[];
  value?: TypedData;
}

/** What static inference learnt of a graph, and what it could not. */
export interface ShapeInference {
  /** Type and dims of every tensor inferred, and values as `TensorInfo` promises. */
  info: Map<string, TensorInfo>;
  /**
   * Outputs of nodes whose facts could not be inferred although every input's were known (an operator
   * without a shape rule, a shape read from the input's values, a foreign domain): run the graph to learn
   * them, pass them back as `known`, and infer again.
   */
  unresolved: string[];
  /** Tensors whose values depend on the values fed (not only on their dims): they never carry a value. */
  dataDependent: Set<string>;
}

// Float tensors this small keep their values in the result (Clip bounds, Pad values, scales).
const SMALL_FLOAT = 64;
// Values are folded up to this many elements (Swin's window masks are 64×49×49 at 224×224).
const FOLD_LIMIT = 1 << 22;
// Larger float initializers are weights: never decoded (that would copy the model).
const WEIGHTS = 1 << 16;

/**
 * Infers every tensor's type and dims, and the values of integer (and small float) tensors, from the graph's
 * fed inputs (`inputs`: the type and dims each graph input is run with), its initializers and Constant nodes,
 * folding the integer shape arithmetic exporters write (Shape → Gather → Concat → Reshape, Range/Mod/Where
 * window masks). Values that depend on the fed values are never inferred; their dims are when the operator
 * allows. `known` supplies facts for tensors a previous call left unresolved (e.g. from a forward run);
 * their values are dropped when they depend on the fed values. Follows the ONNX operator specs (opsets 7–21)
 * and ONNX Runtime's output sizes (pooling's ceil mode).
 */
export function inferTensorInfo(
  model: onnx.ModelProto,
  inputs: Record<string, { type: ElementType; dims: number[] }>,
  known: ReadonlyMap<string, TensorInfo> = new Map(),
): ShapeInference {
  const graph = model.graph;
  const opset = defaultOpset(model);
  const facts = new Map<string, Facts>();
  const dataDependent = new Set<string>();
  for (const init of graph.initializer) {
    const type = elementType(init.dataType);
    if (!type) continue;
    const dims = init.dims.map(Number);
    // Weights stored outside the file have no values here (the model loader brings them in).
    const inside = init.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL;
    facts.set(init.name, { type, dims, lazy: inside ? () => decodeTensor(init).data : undefined });
  }
  for (const [name, t] of Object.entries(inputs)) {
    facts.set(name, { type: t.type, dims: t.dims });
    dataDependent.add(name);
  }
  const unresolved: string[] = [];
  const blocked = new Set<string>();
  for (const node of graph.node) {
    const outputs = node.output.filter(Boolean);
    const dependent =
      node.opType !== 'Shape' && node.opType !== 'Size' && node.input.some((i) => dataDependent.has(i));
    if (dependent) for (const o of outputs) dataDependent.add(o);
    if (outputs.every((o) => known.has(o))) {
      for (const o of outputs) {
        const k = known.get(o)!;
        const value = dependent ? undefined : k.value;
        facts.set(o, { type: k.type, dims: k.dims, lazy: value && (() => value) });
      }
      continue;
    }
    if (node.input.some((i) => blocked.has(i))) {
      for (const o of outputs) blocked.add(o);
      continue;
    }
    const rule = !node.domain || node.domain === 'ai.onnx' ? shapeRules[node.opType] : undefined;
    let results: Facts[] | undefined;
    if (rule && node.input.every((i) => !i || facts.has(i))) {
      try {
        results = rule(context(node, opset, facts));
      } catch (err) {
        if (!(err instanceof CannotInfer)) throw err;
      }
    }
    if (!results) {
      for (const o of outputs) blocked.add(o);
      unresolved.push(...outputs);
      continue;
    }
    node.output.forEach((o, i) => {
      if (!o || !results[i]) return;
      const r = results[i];
      facts.set(o, dependent ? { type: r.type, dims: r.dims } : r);
    });
  }
  const info = new Map<string, TensorInfo>();
  for (const [name, f] of facts) info.set(name, { type: f.type, dims: f.dims, value: exported(f) });
  return { info, unresolved, dataDependent };
}

function context(node: onnx.NodeProto, opset: number, facts: Map<string, Facts>): ShapeContext {
  const inputs = node.input.map((i) => (i ? facts.get(i) : undefined));
  return {
    node,
    attrs: new Attributes(node),
    opset,
    inputs,
    value(i) {
      const f = inputs[i];
      if (!f) return undefined;
      const limit = isFloat(f.type) ? WEIGHTS : FOLD_LIMIT;
      if (f.value === undefined && f.lazy && size(f.dims) <= limit) f.value = toFloat64(f.lazy());
      return f.value;
    },
    foldable: (dims) => size(dims) <= FOLD_LIMIT,
  };
}

function toFloat64(data: TypedData): Float64Array {
  if (!(data instanceof BigInt64Array)) return Float64Array.from(data);
  const out = new Float64Array(data.length);
  for (let k = 0; k < out.length; k++) out[k] = Number(data[k]);
  return out;
}

// The value a TensorInfo carries: integer tensors always, floats when small; in the tensor's own type,
// exact when it comes straight from a TensorProto.
function exported(f: Facts): TypedData | undefined {
  if (isFloat(f.type) && size(f.dims) > SMALL_FLOAT) return undefined;
  if (f.lazy) return f.lazy();
  const v = f.value;
  if (v === undefined) return undefined;
  switch (f.type) {
    case 'float32':
      return Float32Array.from(v);
    case 'float64':
      return Float64Array.from(v);
    case 'int32':
      return Int32Array.from(v);
    case 'int64':
      return BigInt64Array.from(v, toInt64);
    default:
      return Uint8Array.from(v);
  }
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

// Number → int64, saturating: 2^63 - 1 (Slice's "to the end") comes back as 2^63 after a trip through a double.
function toInt64(v: number): bigint {
  const b = BigInt(Math.trunc(v));
  return b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
}
