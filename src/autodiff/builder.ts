import { makeAttributes, type AttrValue } from '../onnx/attributes.js';
import { onnx } from '../onnx/proto.js';
import { encodeTensor, type ElementType } from '../onnx/tensor-proto.js';

/** Emits the nodes and initializers of the backward graph, with names unique in the model. */
export class GraphBuilder {
  readonly nodes: onnx.NodeProto[] = [];
  readonly initializers: onnx.TensorProto[] = [];
  private counter = 0;

  /** `used`: every name already in the model; `floatType`: the element type of gradients. */
  constructor(
    private readonly used: Set<string>,
    readonly floatType: 'float32' | 'float64',
  ) {}

  /** A new tensor name starting with `base`. */
  fresh(base: string): string {
    let name: string;
    do name = `${base}__grad${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  /** Appends a node; returns its output names (`outputs` of them). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType));
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: this.fresh(`${opType}_node`),
        input: inputs,
        output: outs,
        attribute: makeAttributes(attrs),
      }) as onnx.NodeProto,
    );
    return outs;
  }

  /** Appends a single-output node; returns its output name. */
  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.op(opType, inputs, attrs)[0];
  }

  /** Appends a copy of `node` (same operator, domain and attributes) reading `inputs`; returns its first output. */
  like(node: onnx.NodeProto, inputs: string[]): string {
    const out = this.fresh(node.opType);
    this.nodes.push(
      onnx.NodeProto.create({
        opType: node.opType,
        domain: node.domain,
        name: this.fresh(`${node.opType}_node`),
        input: inputs,
        output: [out],
        attribute: node.attribute,
      }) as onnx.NodeProto,
    );
    return out;
  }

  /** A constant of the gradient float type. */
  constFloat(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    const data = this.floatType === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
    return this.addInitializer('const', this.floatType, dims, data);
  }

  /** An int64 constant (shapes, axes, indices). */
  constInt64(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    return this.addInitializer(
      'const',
      'int64',
      dims,
      BigInt64Array.from(Array.from(values, (v) => BigInt(v))),
    );
  }

  /** A tensor of zeros of the gradient float type with the given dims. */
  zeros(dims: number[]): string {
    const scalar = this.constFloat([0], []);
    return this.op1('Expand', [scalar, this.constInt64(dims)]);
  }

  private addInitializer(
    base: string,
    type: ElementType,
    dims: number[],
    data: Float32Array | Float64Array | BigInt64Array,
  ): string {
    const name = this.fresh(base);
    this.initializers.push(encodeTensor(name, type, dims, data));
    return name;
  }
}
