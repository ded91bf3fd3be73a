import { onnx } from './proto.js';

/** A declared dimension: a size, a symbolic name (`N`), or undefined when the model does not say. */
export type Dim = number | string | undefined;

/** The declared dims of a value info (undefined when it declares no shape). */
export function declaredDims(v: Pick<onnx.ValueInfoProto, 'type'> | undefined): Dim[] | undefined {
  const shape = v?.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d): Dim => {
    if (d.dimParam) return d.dimParam;
    const n = Number(d.dimValue ?? 0);
    return n > 0 ? n : undefined;
  });
}

/** Dims as text: `N×3×224×224`, `?` for an unknown one; `(no shape)` when undefined. */
export function formatDims(dims: readonly Dim[] | undefined): string {
  if (!dims) return '(no shape)';
  if (dims.length === 0) return 'a scalar';
  return dims.map((d) => (d === undefined ? '?' : String(d))).join('×');
}

/** A float tensor value info with the given dims (sizes or symbolic names). */
export function tensorValueInfo(name: string, elemType: number, dims: readonly Dim[]): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : d ? { dimParam: d } : {})),
        },
      },
    },
  });
}
