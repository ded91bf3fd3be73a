import { onnx, ModelError } from './proto.js';

/** Element types netvis reads from initializers and constants. */
export type ElementType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'uint8';
/** Typed storage for each element type. */
export type TypedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** A decoded ONNX tensor. */
export interface DecodedTensor {
  type: ElementType;
  dims: number[];
  data: TypedData;
}

const DT = onnx.TensorProto.DataType;
const TYPE_OF: Record<number, ElementType> = {
  [DT.FLOAT]: 'float32',
  [DT.DOUBLE]: 'float64',
  [DT.INT64]: 'int64',
  [DT.INT32]: 'int32',
  [DT.BOOL]: 'bool',
  [DT.UINT8]: 'uint8',
};
const CODE_OF: Record<ElementType, number> = {
  float32: DT.FLOAT,
  float64: DT.DOUBLE,
  int64: DT.INT64,
  int32: DT.INT32,
  bool: DT.BOOL,
  uint8: DT.UINT8,
};

/** The ONNX DataType code of an element type. */
export function dataTypeCode(type: ElementType): number {
  return CODE_OF[type];
}

/** The element type of an ONNX DataType code, or undefined when netvis does not handle it. */
export function elementType(code: number): ElementType | undefined {
  return TYPE_OF[code];
}

function typedFromRaw(type: ElementType, raw: Uint8Array, count: number): TypedData {
  // An aligned copy of the protobuf's bytes (not raw.slice(): on a Node Buffer that is a view).
  const copy = new Uint8Array(raw);
  switch (type) {
    case 'float32':
      return new Float32Array(copy.buffer, 0, count);
    case 'float64':
      return new Float64Array(copy.buffer, 0, count);
    case 'int64':
      return new BigInt64Array(copy.buffer, 0, count);
    case 'int32':
      return new Int32Array(copy.buffer, 0, count);
    default:
      return copy;
  }
}

/** Decodes a TensorProto's values from raw_data or the typed fields (float_data, int64_data, ...). */
export function decodeTensor(t: onnx.TensorProto): DecodedTensor {
  const type = elementType(t.dataType);
  if (!type) throw new ModelError(`tensor '${t.name}': data type ${t.dataType} is not supported`);
  const dims = t.dims.map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new ModelError(
      `tensor '${t.name}': external data is not supported (save the model with weights inside)`,
    );
  }
  let data: TypedData;
  if (t.rawData && t.rawData.length > 0) data = typedFromRaw(type, t.rawData, count);
  else if (type === 'float32') data = Float32Array.from(t.floatData);
  else if (type === 'float64') data = Float64Array.from(t.doubleData);
  else if (type === 'int64') data = BigInt64Array.from(t.int64Data.map((v) => BigInt(v.toString())));
  else if (type === 'int32') data = Int32Array.from(t.int32Data);
  else data = Uint8Array.from(t.int32Data);
  if (data.length !== count) {
    throw new ModelError(`tensor '${t.name}': ${data.length} values for dims [${dims}]`);
  }
  return { type, dims, data };
}

/** Encodes values as a TensorProto with raw_data. */
export function encodeTensor(
  name: string,
  type: ElementType,
  dims: number[],
  data: TypedData,
): onnx.TensorProto {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return onnx.TensorProto.create({ name, dataType: dataTypeCode(type), dims, rawData: bytes });
}

/** The values of a small integer tensor as JS numbers. */
export function toNumbers(data: TypedData): number[] {
  return Array.from(data as ArrayLike<number | bigint>, (v) => Number(v));
}
