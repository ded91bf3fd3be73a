import type { ElementType, TypedData } from '../onnx/tensor-proto.js';

/** A typed tensor passed to or returned by a session. */
export interface RuntimeTensor {
  type: ElementType;
  dims: number[];
  data: TypedData;
}

/** Options for a session. */
export interface SessionOptions {
  /** Intra-op threads; default: the backend's choice (all cores in Node). */
  threads?: number;
}

/** A loaded graph that runs on feeds. */
export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the graph; `outputs` limits what is fetched (default: all outputs). */
  run(
    feeds: Record<string, RuntimeTensor>,
    outputs?: readonly string[],
  ): Promise<Record<string, RuntimeTensor>>;
  release(): Promise<void>;
}

/** What netvis needs of an ONNX runtime: onnxruntime-node in Node, onnxruntime-web in the browser. */
export interface Backend {
  readonly name: string;
  createSession(model: Uint8Array, options?: SessionOptions): Promise<Session>;
}
