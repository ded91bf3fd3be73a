// Tiny ONNX models built in code, for tests of the gradient compiler.
import { makeAttributes, type AttrValue } from '../../src/onnx/attributes.js';
import { onnx } from '../../src/onnx/proto.js';
import { encodeTensor } from '../../src/onnx/tensor-proto.js';

/** The float types a tiny graph computes in. */
export type FloatType = 'float32' | 'float64';

/** ONNX TensorProto.DataType code of a float type. */
export const elemType = (t: FloatType): number => (t === 'float32' ? 1 : 11);

/** A deterministic uniform [0, 1) generator (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A typed array of `dtype` holding `values`. */
export function floatArray(dtype: FloatType, values: ArrayLike<number>): Float32Array | Float64Array {
  return dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
}

export const size = (dims: number[]): number => dims.reduce((a, c) => a * c, 1);

/** A float initializer. */
export function floatInit(name: string, dtype: FloatType, dims: number[], values: ArrayLike<number>) {
  return encodeTensor(name, dtype, dims, floatArray(dtype, values));
}

/**
 * An int64 initializer (shapes, axes, indices, pads), stored in int64_data. `raw: true` stores it in
 * raw_data instead, as exporters do.
 */
export function int64Init(name: string, values: number[], dims: number[] = [values.length], raw = false) {
  if (raw) return encodeTensor(name, 'int64', dims, BigInt64Array.from(values.map((v) => BigInt(v))));
  return onnx.TensorProto.create({ name, dataType: 7, dims, int64Data: values }) as onnx.TensorProto;
}

/** One node: `attrs` as in makeAttributes; the name defaults to `<op>_<first output>`. */
export interface TinyNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  name?: string;
}

export interface TinyGraph {
  /** Graph inputs fed at run time (the first is the one differentiated). */
  inputs: { name: string; dims: number[]; dtype: FloatType }[];
  outputs: string[];
  nodes: TinyNode[];
  initializers?: onnx.TensorProto[];
  /** ai.onnx opset; default 17. */
  opset?: number;
}

/** Builds a ModelProto from a TinyGraph. */
export function buildModel(g: TinyGraph): onnx.ModelProto {
  return onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: g.opset ?? 17 }],
    graph: {
      name: 'tiny',
      node: g.nodes.map((n) =>
        onnx.NodeProto.create({
          opType: n.op,
          name: n.name ?? `${n.op}_${n.outputs[0]}`,
          input: n.inputs,
          output: n.outputs,
          attribute: makeAttributes(n.attrs ?? {}),
        }),
      ),
      input: g.inputs.map((i) =>
        onnx.ValueInfoProto.create({
          name: i.name,
          type: {
            tensorType: {
              elemType: elemType(i.dtype),
              shape: { dim: i.dims.map((d) => ({ dimValue: d })) },
            },
          },
        }),
      ),
      output: g.outputs.map((name) => onnx.ValueInfoProto.create({ name })),
      initializer: g.initializers ?? [],
    },
  }) as onnx.ModelProto;
}

/** What a one-op model is made of besides its op type. */
export interface OneOp {
  dtype: FloatType;
  /** Dims of the graph input `x`. */
  x: number[];
  /** The op's inputs; default `['x', ...initializer names]`. Use '' for an omitted optional input. */
  inputs?: string[];
  attrs?: Record<string, AttrValue>;
  initializers?: onnx.TensorProto[];
  /** Output names; default `['y']`, all graph outputs. */
  outputs?: string[];
  opset?: number;
}

/** A model `y = op(x, initializers...)` with graph input `x`. */
export function oneOpModel(op: string, o: OneOp): onnx.ModelProto {
  const inits = o.initializers ?? [];
  const outputs = o.outputs ?? ['y'];
  return buildModel({
    inputs: [{ name: 'x', dims: o.x, dtype: o.dtype }],
    outputs,
    nodes: [{ op, inputs: o.inputs ?? ['x', ...inits.map((t) => t.name)], outputs, attrs: o.attrs }],
    initializers: inits,
    opset: o.opset,
  });
}
