import { GraphView } from './graph.js';
import { ModelError, onnx } from './proto.js';

const DT = onnx.TensorProto.DataType;

/** IEEE 754 binary16 bits to the number they encode (exact: every half is a float32). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** A float16 TensorProto's values widened to float32, in place (raw_data, or int32_data holding the bits). */
function widenTensor(t: onnx.TensorProto): void {
  const count = t.dims.reduce((a: number, d) => a * Number(d), 1);
  let bits: Uint16Array;
  if (t.rawData && t.rawData.length > 0) {
    const copy = new Uint8Array(t.rawData);
    bits = new Uint16Array(copy.buffer, 0, copy.length >> 1);
  } else bits = Uint16Array.from(t.int32Data);
  if (bits.length !== count)
    throw new ModelError(`tensor '${t.name}': ${bits.length} float16 values for dims [${t.dims.join(', ')}]`);
  const values = Float32Array.from(bits, halfToNumber);
  t.dataType = DT.FLOAT;
  t.int32Data = [];
  t.rawData = new Uint8Array(values.buffer);
}

/** What `widenFloat16` changed. */
export interface Float16Widening {
  /** Constant tensors (initializers, Constant and ConstantOfShape values) widened to float32. */
  tensors: number;
  /** Cast nodes to float16 now casting to float32. */
  casts: number;
  /** Casts of a constant to float32 folded into the constant (left without work by the widening). */
  folded: number;
  /** Graph inputs, outputs and value infos relabelled from float16 to float32. */
  valueInfos: number;
}

/**
 * Makes a model that stores or computes in float16 compute in float32, in place: float16 initializers and constants
 * are widened (exactly), Casts to float16 cast to float32 instead (so they still convert integers), value infos are
 * relabelled, and a Cast to float32 of a now-float32 initializer is folded into it (so weights stay initializers
 * that layer-finding and weight randomisation recognise). Returns undefined when nothing was float16. Throws a
 * ModelError for bfloat16, which has no exact widening here.
 */
export function widenFloat16(model: onnx.ModelProto, source = 'model'): Float16Widening | undefined {
  const graph = model.graph;
  const done: Float16Widening = { tensors: 0, casts: 0, folded: 0, valueInfos: 0 };
  for (const t of graph.initializer) {
    if (t.dataType === DT.BFLOAT16)
      throw new ModelError(`${source}: tensor '${t.name}' is bfloat16, which netvis does not read`);
    if (t.dataType === DT.FLOAT16) {
      widenTensor(t);
      done.tensors++;
    }
  }
  for (const node of graph.node) {
    for (const a of node.attribute) {
      if (a.t?.dataType === DT.FLOAT16) {
        widenTensor(a.t);
        done.tensors++;
      }
      if ((a.name === 'to' || a.name === 'dtype') && Number(a.i) === DT.FLOAT16) {
        a.i = DT.FLOAT;
        if (node.opType === 'Cast') done.casts++;
      }
    }
  }
  for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) {
    const tt = v.type?.tensorType;
    if (tt?.elemType === DT.FLOAT16) {
      tt.elemType = DT.FLOAT;
      done.valueInfos++;
    }
  }
  if (done.tensors + done.casts + done.valueInfos === 0) return undefined;
  // Fold Cast(initializer, to=float) now that the initializer is float32: the initializer takes the Cast's output
  // name, unless something else still reads the initializer itself.
  const view = new GraphView(graph);
  const outputs = new Set(graph.output.map((o) => o.name));
  graph.node = graph.node.filter((node) => {
    const init = view.initializers.get(node.input[0]);
    const to = node.attribute.find((a) => a.name === 'to');
    if (node.opType !== 'Cast' || !init || init.dataType !== DT.FLOAT || Number(to?.i) !== DT.FLOAT)
      return true;
    if ((view.consumers.get(init.name)?.length ?? 0) > 1 || outputs.has(init.name)) return true;
    graph.input = graph.input.filter((i) => i.name !== init.name);
    init.name = node.output[0];
    done.folded++;
    return false;
  });
  return done;
}
