import type * as ortCommon from 'onnxruntime-common';
import type { ElementType } from '../onnx/tensor-proto.js';
import type { Backend, RuntimeTensor, Session, SessionOptions } from './backend.js';

/** The part of the onnxruntime-node / onnxruntime-web module netvis uses (they share onnxruntime-common's API). */
export interface OrtModule {
  InferenceSession: typeof ortCommon.InferenceSession;
  Tensor: typeof ortCommon.Tensor;
}

const ORT_TYPES: Record<ElementType, string> = {
  float32: 'float32',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  bool: 'bool',
  uint8: 'uint8',
};

/** A Backend over an onnxruntime module; `defaults` are merged into every session's options. */
export function ortBackend(
  name: string,
  ort: OrtModule,
  defaults: (o: SessionOptions) => ortCommon.InferenceSession.SessionOptions,
): Backend {
  return {
    name,
    async createSession(model: Uint8Array, options: SessionOptions = {}): Promise<Session> {
      const session = await ort.InferenceSession.create(model, defaults(options));
      return {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        async run(feeds, outputs) {
          const ortFeeds: Record<string, ortCommon.Tensor> = {};
          for (const [k, t] of Object.entries(feeds)) {
            ortFeeds[k] = new ort.Tensor(ORT_TYPES[t.type] as 'float32', t.data as Float32Array, t.dims);
          }
          const result = outputs
            ? await session.run(ortFeeds, outputs as string[])
            : await session.run(ortFeeds);
          const out: Record<string, RuntimeTensor> = {};
          for (const [k, t] of Object.entries(result)) {
            out[k] = { type: t.type as ElementType, dims: [...t.dims], data: t.data as Float32Array };
          }
          return out;
        },
        release: () => session.release(),
      };
    },
  };
}
