import { Attributes, makeNode as node } from './attributes.js';
import { GraphView } from './graph.js';
import { defaultOpset, ModelError, onnx } from './proto.js';
import { encodeTensor } from './tensor-proto.js';

/** The oldest and newest ai.onnx opsets netvis reads. */
export const OLDEST_OPSET = 7;
export const NEWEST_OPSET = 21;

/** What `convertOpset` did: the versions, and how many nodes of each operator it rewrote. */
export interface OpsetConversion {
  from: number;
  to: number;
  /** Nodes rewritten, by operator (those whose form changed between the versions). */
  rewritten: Record<string, number>;
}

// Operators whose inference meaning changed between OLDEST_OPSET and 16 in a way no local rewrite here undoes,
// with the version of the change.
const UNCONVERTIBLE: Record<string, number> = { Upsample: 10, Scatter: 11, Resize: 13, TopK: 10 };

/**
 * Converts a model's ai.onnx opset up to `target` in place, rewriting the nodes whose form changed but whose
 * inference meaning did not (the changes onnx.version_converter makes): BatchNormalization (drops `spatial` and the
 * training outputs), Dropout before 12 (becomes Identity), Squeeze/Unsqueeze/ReduceSum/Split before 13 and Clip/Pad
 * before 11 and Slice before 10 (attributes become constant inputs), and Softmax/LogSoftmax/Hardmax before 13
 * (their input is flattened to 2-D at `axis` as the old definition says, then reshaped back). Other operators are
 * unchanged in meaning between 7 and 16 and only relabelled. Returns undefined when the model is at `target` or
 * later. Throws a ModelError naming every node that cannot be converted (Upsample, Scatter, Resize before 13, TopK
 * before 10, a BatchNormalization in training form) with onnx.version_converter as the way out, or when the model's
 * opset is outside OLDEST_OPSET…NEWEST_OPSET.
 */
export function convertOpset(
  model: onnx.ModelProto,
  target: number,
  source = 'model',
): OpsetConversion | undefined {
  const from = defaultOpset(model);
  if (from < OLDEST_OPSET || from > NEWEST_OPSET)
    throw new ModelError(
      `${source}: opset ${from} is outside the opsets netvis reads (${OLDEST_OPSET} to ${NEWEST_OPSET}); convert it with onnx.version_converter`,
    );
  if (from >= target) return undefined;
  const graph = model.graph;
  const view = new GraphView(graph);
  const used = view.tensorNames();
  const outputs = new Set(graph.output.map((o) => o.name));
  const isUsed = (t: string) => Boolean(t) && (outputs.has(t) || view.consumers.has(t));
  let counter = 0;
  const fresh = (base: string) => {
    let name: string;
    do name = `${base}_opset${target}_${counter++}`;
    while (used.has(name));
    used.add(name);
    return name;
  };
  const int64 = (base: string, values: number[]) => {
    const name = fresh(base);
    graph.initializer.push(encodeTensor(name, 'int64', [values.length], BigInt64Array.from(values, BigInt)));
    return name;
  };
  const float = (base: string, value: number) => {
    const name = fresh(base);
    graph.initializer.push(encodeTensor(name, 'float32', [], Float32Array.of(value)));
    return name;
  };
  const dropAttrs = (n: onnx.NodeProto, names: string[]) =>
    (n.attribute = n.attribute.filter((a) => !names.includes(a.name)));

  const refused: string[] = [];
  const rewritten: Record<string, number> = {};
  const nodes: onnx.NodeProto[] = [];
  for (const n of graph.node) {
    if (n.domain && n.domain !== 'ai.onnx') {
      nodes.push(n);
      continue;
    }
    const attrs = new Attributes(n);
    const label = `${n.opType} node '${n.name}'`;
    let changed = true;
    const change = UNCONVERTIBLE[n.opType];
    if (change !== undefined && from < change) {
      refused.push(`${label} (its meaning changed at opset ${change})`);
      changed = false;
    } else if (n.opType === 'BatchNormalization' && from < 14) {
      if (attrs.int('spatial', 1) !== 1 || n.output.slice(1).some(isUsed))
        refused.push(`${label} (training form: spatial=0 or running statistics used)`);
      dropAttrs(n, ['spatial', 'is_test', 'consumed_inputs']);
      n.output = n.output.slice(0, 1);
    } else if (n.opType === 'Dropout' && from < 12) {
      if (n.output.slice(1).some(isUsed)) refused.push(`${label} (its mask output is used)`);
      nodes.push(node('Identity', n.name, [n.input[0]], [n.output[0]], {}));
      rewritten.Dropout = (rewritten.Dropout ?? 0) + 1;
      continue;
    } else if (['Squeeze', 'Unsqueeze', 'ReduceSum'].includes(n.opType) && from < 13 && attrs.has('axes')) {
      n.input = [n.input[0], int64(`${n.name}_axes`, attrs.ints('axes', []))];
      dropAttrs(n, ['axes']);
    } else if (n.opType === 'Split' && from < 13 && attrs.has('split')) {
      n.input = [n.input[0], int64(`${n.name}_split`, attrs.ints('split', []))];
      dropAttrs(n, ['split']);
    } else if (n.opType === 'Clip' && from < 11) {
      n.input = [
        n.input[0],
        attrs.has('min') ? float(`${n.name}_min`, attrs.float('min', 0)) : '',
        attrs.has('max') ? float(`${n.name}_max`, attrs.float('max', 0)) : '',
      ];
      while (n.input.at(-1) === '') n.input.pop();
      dropAttrs(n, ['min', 'max']);
    } else if (n.opType === 'Pad' && from < 11) {
      n.input = [n.input[0], int64(`${n.name}_pads`, attrs.ints('pads', []))];
      if (attrs.has('value')) n.input.push(float(`${n.name}_value`, attrs.float('value', 0)));
      dropAttrs(n, ['pads', 'value']);
    } else if (n.opType === 'Slice' && from < 10) {
      n.input = [
        n.input[0],
        int64(`${n.name}_starts`, attrs.ints('starts', [])),
        int64(`${n.name}_ends`, attrs.ints('ends', [])),
      ];
      if (attrs.has('axes')) n.input.push(int64(`${n.name}_axes`, attrs.ints('axes', [])));
      dropAttrs(n, ['starts', 'ends', 'axes']);
    } else if (['Softmax', 'LogSoftmax', 'Hardmax'].includes(n.opType) && from < 13) {
      // Before 13: the input coerced to 2-D [d0·…·d(axis−1), d(axis)·…], normalised over the second axis.
      const [x] = n.input;
      const [y] = n.output;
      const flat = fresh(`${n.name}_flat`);
      const flatOut = fresh(`${n.name}_flat_out`);
      const shape = fresh(`${n.name}_shape`);
      nodes.push(
        node('Flatten', fresh(`${n.name}_Flatten`), [x], [flat], { axis: { i: attrs.int('axis', 1) } }),
        node(n.opType, n.name, [flat], [flatOut], { axis: { i: -1 } }),
        node('Shape', fresh(`${n.name}_Shape`), [x], [shape], {}),
        node('Reshape', fresh(`${n.name}_Reshape`), [flatOut, shape], [y], {}),
      );
      rewritten[n.opType] = (rewritten[n.opType] ?? 0) + 1;
      continue;
    } else changed = false;
    if (changed) rewritten[n.opType] = (rewritten[n.opType] ?? 0) + 1;
    nodes.push(n);
  }
  if (refused.length > 0)
    throw new ModelError(
      `${source}: opset ${from} cannot be converted to ${target} here: ${refused.join('; ')}; ` +
        `convert the model with onnx.version_converter.convert_version(model, ${target}) and load the result`,
    );
  graph.node = nodes;
  const imp = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')!;
  imp.version = target;
  // IR version 8 is the one that goes with opset 16.
  if (Number(model.irVersion) < 8) model.irVersion = 8;
  return { from, to: target, rewritten };
}
