// Messages between the page (main thread) and the worker that runs the classifier and the methods.
import type { RgbImage } from '../../src/image/types.js';
import type { ClassInfo } from '../../src/model/labels.js';
import type { WebProvider } from '../../src/runtime/web.js';

/** Which runtime the worker uses, for the indicator. */
export interface BackendInfo {
  provider: WebProvider;
  /** WASM threads (1 when the page is not cross-origin isolated). */
  threads: number;
  crossOriginIsolated: boolean;
  /** Why the worker fell back from WebGPU to WASM, if it did. */
  fallback?: string;
}

/** An attribution method the worker offers. */
export interface MethodInfo {
  id: string;
  label: string;
  description: string;
  /** Whether maps are signed (shown centred on 0 with a diverging colormap). */
  signed: boolean;
}

export interface ClassScore {
  index: number;
  probability: number;
}

/** Class visualization settings the page exposes (CS231n's names and defaults). */
export interface ClassvizSettings {
  iterations: number;
  l2Reg: number;
  learningRate: number;
  blurEvery: number;
  blurSigma: number;
  maxJitter: number;
  seed: number;
}

export type Request =
  | { type: 'init'; configUrl: string; wasmPaths: string; provider?: WebProvider }
  | { type: 'image'; bytes: ArrayBuffer; name: string }
  | { type: 'attribute'; method: string; label: number }
  | { type: 'fool'; target: number; learningRate: number; maxIterations: number }
  | { type: 'classviz'; target: number; settings: ClassvizSettings }
  | { type: 'gif' }
  | { type: 'model'; files: { name: string; bytes: ArrayBuffer }[] };

/** Pause or resume the runtime (holding whichever job runs), or stop a job. */
export type Control = 'pause' | 'resume' | 'stop';

/**
 * The classifier the worker holds: its name, labels, which tensor it uses as logits and why, and the attribution
 * methods that can explain it (attention methods only for a model with global attention).
 */
export interface ModelInfo {
  modelName: string;
  labels: ClassInfo[];
  logits: string;
  methods: MethodInfo[];
}

export interface InitResult extends ModelInfo {
  backend: BackendInfo;
}

export interface ImageResult {
  /** What the model sees: the image resized and centre-cropped. */
  crop: RgbImage;
  top: ClassScore[];
}

export interface AttributionResult {
  method: string;
  label: number;
  /** H×W, row-major. */
  map: Float32Array;
  width: number;
  height: number;
}

export interface FoolProgress {
  iteration: number;
  predicted: number;
}

export interface FoolResult {
  original: RgbImage;
  fooled: RgbImage;
  success: boolean;
  iterations: number;
  target: number;
  originalPrediction: number;
  top: ClassScore[];
  linfPixels: number;
  l2Pixels: number;
}

export interface ClassvizProgress {
  iteration: number;
  total: number;
  score: number;
  frame: RgbImage;
  /** Mean time per step so far, without the first (which compiles the gradient graph) and paused time. */
  msPerStep?: number;
}

export interface ClassvizResult {
  iterations: number;
  stopped: boolean;
  top: ClassScore[];
  msPerStep?: number;
}

export interface ResultOf {
  init: InitResult;
  image: ImageResult;
  attribute: AttributionResult;
  fool: FoolResult;
  classviz: ClassvizResult;
  gif: { bytes: Uint8Array };
  model: ModelInfo;
}

/** Inputs run so far (noisy copies, path points, occluded copies) of an attribution method's total. */
export interface AttributionProgress {
  done: number;
  total: number;
}

export type ProgressOf<T extends Request['type']> = T extends 'fool'
  ? FoolProgress
  : T extends 'classviz'
    ? ClassvizProgress
    : T extends 'attribute'
      ? AttributionProgress
      : never;

/** Page → worker: a job, or a control for job `id`. */
export type ToWorker = { id: number; request: Request } | { id: number; control: Control };

/** Worker → page. */
export type FromWorker =
  | { id: number; kind: 'result'; result: unknown }
  | { id: number; kind: 'error'; message: string; aborted: boolean }
  | { id: number; kind: 'progress'; progress: unknown }
  | { kind: 'paused'; paused: boolean }
  | { kind: 'backend'; backend: BackendInfo };
