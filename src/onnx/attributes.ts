import { onnx } from './proto.js';

/** Typed read access to a node's attributes, with defaults. */
export class Attributes {
  private readonly byName = new Map<string, onnx.AttributeProto>();

  constructor(readonly node: onnx.NodeProto) {
    for (const a of node.attribute) this.byName.set(a.name, a);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  int(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? Number(a.i) : fallback;
  }

  float(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? a.f : fallback;
  }

  ints(name: string, fallback: number[]): number[] {
    const a = this.byName.get(name);
    return a ? a.ints.map(Number) : fallback;
  }

  floats(name: string, fallback: number[]): number[] {
    const a = this.byName.get(name);
    return a ? [...a.floats] : fallback;
  }

  string(name: string, fallback: string): string {
    const a = this.byName.get(name);
    return a ? new TextDecoder().decode(a.s) : fallback;
  }

  tensor(name: string): onnx.TensorProto | undefined {
    return this.byName.get(name)?.t ?? undefined;
  }
}

/** An attribute value to write: integers, floats, lists of them, or a string. */
export type AttrValue =
  { i: number } | { f: number } | { ints: number[] } | { floats: number[] } | { s: string };

/** Builds AttributeProtos from a name → value record. */
export function makeAttributes(attrs: Record<string, AttrValue>): onnx.AttributeProto[] {
  const T = onnx.AttributeProto.AttributeType;
  return Object.entries(attrs).map(([name, v]) => {
    if ('i' in v) return onnx.AttributeProto.create({ name, type: T.INT, i: v.i });
    if ('f' in v) return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.f });
    if ('ints' in v) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v.ints });
    if ('floats' in v) return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: v.floats });
    return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v.s) });
  }) as onnx.AttributeProto[];
}

/** A node with the given attributes (as in makeAttributes). */
export function makeNode(
  opType: string,
  name: string,
  input: string[],
  output: string[],
  attrs: Record<string, AttrValue> = {},
): onnx.NodeProto {
  return onnx.NodeProto.create({
    opType,
    name,
    input,
    output,
    attribute: makeAttributes(attrs),
  }) as onnx.NodeProto;
}
