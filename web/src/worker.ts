// The worker that owns the classifier: decoding, classification and every method run here, off the page's thread.
import { decodeImageInBrowser } from '../../src/image/browser.js';
import { checkModelInputSize } from '../../src/image/checks.js';
import { deprocess, imageToTensor } from '../../src/image/preprocess.js';
import { centerCrop, resizeShorterSide } from '../../src/image/resize.js';
import type { RgbImage } from '../../src/image/types.js';
import { makeFoolingImage } from '../../src/methods/adversarial/fooling.js';
import { methodsFor } from '../../src/methods/attribution/registry.js';
import { oneHot, softmaxRows } from '../../src/methods/common.js';
import { classVisualization } from '../../src/methods/featureviz/class-visualization.js';
import type { Classifier } from '../../src/model/classifier.js';
import {
  loadClassifierFromFiles,
  loadClassifierFromUrl,
  type WebModelSource,
} from '../../src/model/load-web.js';
import { encodeGif } from '../../src/render/animation.js';
import type { Backend, Session } from '../../src/runtime/backend.js';
import {
  chooseWebProvider,
  configureWebRuntime,
  webBackend,
  type WebProvider,
} from '../../src/runtime/web.js';
import type { Tensor } from '../../src/tensor.js';
import { ATTRIBUTION_METHODS, attributionMap } from './attributions.js';
import type {
  BackendInfo,
  ClassScore,
  ClassvizResult,
  Control,
  FromWorker,
  ModelInfo,
  Request,
  ResultOf,
  ToWorker,
} from './protocol.js';

const scope = globalThis as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<ToWorker>) => void): void;
};

const post = (message: FromWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

/** Resolves after the worker's queued events (messages from the page) have run. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/** Holds session runs while paused: pausing the runtime pauses whichever method loop is using it. */
class Gate {
  private waiting?: { promise: Promise<void>; open: () => void };

  constructor(private readonly onHold: () => void) {}

  close(): void {
    if (this.waiting) return;
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.waiting = { promise, open };
  }

  open(): void {
    this.waiting?.open();
    this.waiting = undefined;
  }

  /** Waits while closed; resolves to whether it had to wait. */
  async pass(): Promise<boolean> {
    // Session runs can resolve without the event loop turning, so a method's loop would never see a pause or a
    // stop message: let queued messages in first.
    await nextTask();
    let held = false;
    while (this.waiting) {
      held = true;
      this.onHold();
      await this.waiting.promise;
    }
    return held;
  }
}

// Set when a session run waited at the gate, so that a paused step is not timed.
let heldDuringStep = false;
const gate = new Gate(() => {
  heldDuringStep = true;
  post({ kind: 'paused', paused: true });
});

/** `backend` with every session run waiting at the gate first, and refused if the job was stopped while paused. */
function gated(backend: Backend): Backend {
  return {
    name: backend.name,
    async createSession(model, options) {
      const session = await backend.createSession(model, options);
      const wrapped: Session = {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        async run(feeds, outputs) {
          if (await gate.pass()) running?.controller.signal.throwIfAborted();
          return session.run(feeds, outputs);
        },
        release: () => session.release(),
      };
      return wrapped;
    },
  };
}

let classifier: Classifier | undefined;
// Opens the current model again on another backend (after a WebGPU failure).
let reopen: (backend: Backend) => Promise<Classifier>;
let backendInfo: BackendInfo;
let current: { x: Tensor; crop: RgbImage } | undefined;
let gifFrames: RgbImage[] = [];
let warm = false;
let running: { id: number; controller: AbortController } | undefined;
// Jobs stopped before they started.
const cancelled = new Set<number>();

async function openClassifier(provider: WebProvider): Promise<Classifier> {
  return reopen(gated(webBackend(provider)));
}

async function modelInfo(c: Classifier, modelName: string): Promise<ModelInfo> {
  const usable = new Set((await methodsFor(c)).map((m) => m.name));
  return {
    modelName,
    labels: [...c.labels.classes],
    logits: c.report?.logits.reason ?? `'${c.outputName}'`,
    methods: ATTRIBUTION_METHODS.filter((m) => usable.has(m.id)).map(
      ({ id, label, description, signed }) => ({
        id,
        label,
        description,
        signed,
      }),
    ),
  };
}

function top(logits: Tensor, k = 5): ClassScore[] {
  const probs = softmaxRows(logits);
  return Array.from(probs.subarray(0, logits.dims[1]), (probability, index) => ({ index, probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}

function ready(): Classifier {
  if (!classifier) throw new Error('the model is not loaded yet');
  return classifier;
}

function needImage(): { x: Tensor; crop: RgbImage } {
  if (!current) throw new Error('pick or drop an image first');
  return current;
}

/** Runs `fn`; if WebGPU cannot run a graph, reloads on WASM, tells the page, and runs it again. */
async function withFallback<T>(fn: (c: Classifier) => Promise<T>): Promise<T> {
  try {
    return await fn(ready());
  } catch (err) {
    if (backendInfo.provider !== 'webgpu' || (err as Error).name === 'AbortError') throw err;
    const reason = (err as Error).message;
    await classifier?.dispose().catch(() => undefined);
    classifier = await openClassifier('wasm');
    warm = false;
    backendInfo = { ...backendInfo, provider: 'wasm', fallback: reason };
    post({ kind: 'backend', backend: backendInfo });
    return fn(classifier);
  }
}

async function init(req: Extract<Request, { type: 'init' }>): Promise<ResultOf['init']> {
  const threads = configureWebRuntime({ wasmPaths: req.wasmPaths });
  const response = await fetch(req.configUrl);
  if (!response.ok) throw new Error(`${req.configUrl}: HTTP ${response.status}`);
  const config = (await response.json()) as WebModelSource;
  const source = {
    ...config,
    model: new URL(config.model, req.configUrl).href,
    labels: new URL(config.labels, req.configUrl).href,
  };
  reopen = (backend) => loadClassifierFromUrl(source, backend);
  const provider = await chooseWebProvider(req.provider);
  backendInfo = { provider, threads, crossOriginIsolated: globalThis.crossOriginIsolated };
  classifier = await openClassifier(provider);
  return { ...(await modelInfo(classifier, source.name ?? 'model')), backend: backendInfo };
}

async function classifyImage(req: Extract<Request, { type: 'image' }>): Promise<ResultOf['image']> {
  const c = ready();
  // Whatever happens to this image, the previous one is no longer what the page shows.
  current = undefined;
  const img = await decodeImageInBrowser(new Blob([req.bytes]), req.name);
  checkModelInputSize(img, req.name);
  const crop = centerCrop(resizeShorterSide(img, c.preprocessing.resize), c.preprocessing.crop);
  const x = imageToTensor(crop, c.preprocessing);
  const logits = await withFallback((cl) => cl.logits(x));
  current = { x, crop };
  if (!warm) queue(-1, warmUp);
  return { crop, top: top(logits) };
}

/** Compiles the input-gradient graph every method here shares, so the first method the user asks for is quick. */
async function warmUp(): Promise<void> {
  if (warm || !current) return;
  const c = ready();
  await withFallback((cl) => cl.inputGradient(current!.x, oneHot([0], c.numClasses)));
  warm = true;
}

async function attribute(
  id: number,
  req: Extract<Request, { type: 'attribute' }>,
  signal: AbortSignal,
): Promise<ResultOf['attribute']> {
  const { x } = needImage();
  const method = ATTRIBUTION_METHODS.find((m) => m.id === req.method);
  if (!method) throw new Error(`unknown attribution method '${req.method}'`);
  const onStep = (done: number, total: number) => post({ id, kind: 'progress', progress: { done, total } });
  const map = await withFallback((c) => attributionMap(method, c, x, req.label, { onStep, signal }));
  return { method: method.id, label: req.label, map, width: x.dims[3], height: x.dims[2] };
}

async function fool(
  id: number,
  req: Extract<Request, { type: 'fool' }>,
  signal: AbortSignal,
): Promise<ResultOf['fool']> {
  const { x, crop } = needImage();
  const result = await withFallback((c) =>
    makeFoolingImage(c, x, req.target, {
      learningRate: req.learningRate,
      maxIterations: req.maxIterations,
      signal,
      onStep: (iteration, predicted) =>
        post({ id, kind: 'progress', progress: { iteration, predicted: predicted[0] } }),
    }),
  );
  const c = ready();
  return {
    original: crop,
    fooled: deprocess(result.image, c.preprocessing)[0],
    success: result.success,
    iterations: result.iterations,
    target: result.target,
    originalPrediction: result.originalPrediction,
    top: top(await c.logits(result.image)),
    linfPixels: result.linfPixels,
    l2Pixels: result.l2Pixels,
  };
}

// Frames kept for the GIF: every step up to this many, then evenly spaced.
const MAX_GIF_FRAMES = 200;

async function classviz(
  id: number,
  req: Extract<Request, { type: 'classviz' }>,
  signal: AbortSignal,
): Promise<ClassvizResult> {
  const c = ready();
  const s = req.settings;
  const keepEvery = Math.ceil(s.iterations / MAX_GIF_FRAMES);
  gifFrames = [];
  let last = performance.now();
  let timed = 0;
  let timedMs = 0;
  heldDuringStep = false;
  let image: Tensor | undefined;
  let done = 0;
  try {
    await classVisualization(c, req.target, {
      iterations: s.iterations,
      l2Reg: s.l2Reg,
      learningRate: s.learningRate,
      blurEvery: s.blurEvery,
      blurSigma: s.blurSigma,
      maxJitter: s.maxJitter,
      seed: s.seed,
      showEvery: s.iterations,
      signal,
      onStep: (iteration, img, score) => {
        const now = performance.now();
        // Step 1 compiles the gradient graph if needed; a paused step would time the pause.
        if (iteration > 1 && !heldDuringStep) {
          timed++;
          timedMs += now - last;
        }
        last = now;
        heldDuringStep = false;
        image = img;
        done = iteration;
        const frame = deprocess(img, c.preprocessing)[0];
        if ((iteration - 1) % keepEvery === 0 || iteration === s.iterations) gifFrames.push(frame);
        const shown = { ...frame, data: frame.data.slice() };
        const msPerStep = timed > 0 ? timedMs / timed : undefined;
        post(
          {
            id,
            kind: 'progress',
            progress: { iteration, total: s.iterations, score, frame: shown, msPerStep },
          },
          [shown.data.buffer],
        );
      },
    });
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  }
  const msPerStep = timed > 0 ? timedMs / timed : undefined;
  return {
    iterations: done,
    stopped: done < s.iterations,
    top: image ? top(await c.logits(image)) : [],
    msPerStep,
  };
}

/** Replaces the classifier by the user's own model (files picked or dropped), imported as in Node. */
async function openModel(req: Extract<Request, { type: 'model' }>): Promise<ResultOf['model']> {
  const files = req.files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) }));
  const open = (backend: Backend) => loadClassifierFromFiles(files, backend);
  const next = await open(gated(webBackend(backendInfo.provider)));
  await classifier?.dispose();
  classifier = next;
  reopen = open;
  current = undefined;
  warm = false;
  return modelInfo(next, files.find((f) => f.name.toLowerCase().endsWith('.onnx'))!.name);
}

function gif(): ResultOf['gif'] {
  if (gifFrames.length === 0) throw new Error('run a class visualization first');
  return { bytes: encodeGif(gifFrames, { delayMs: 80 }) };
}

async function perform(id: number, request: Request, signal: AbortSignal): Promise<unknown> {
  switch (request.type) {
    case 'init':
      return init(request);
    case 'image':
      return classifyImage(request);
    case 'attribute':
      return attribute(id, request, signal);
    case 'fool':
      return fool(id, request, signal);
    case 'classviz':
      return classviz(id, request, signal);
    case 'gif':
      return gif();
    case 'model':
      return openModel(request);
  }
}

function transferables(result: unknown): Transferable[] {
  if (!result || typeof result !== 'object') return [];
  const r = result as Partial<ResultOf['attribute'] & ResultOf['gif']>;
  if (r.map) return [r.map.buffer as ArrayBuffer];
  if (r.bytes) return [r.bytes.buffer as ArrayBuffer];
  return [];
}

// Jobs run one at a time, in order. Pause holds whichever job runs (and those after it) until resume; stop ends
// the job it names, running or queued.
let chain: Promise<void> = Promise.resolve();

function queue(id: number, job: (signal: AbortSignal) => Promise<unknown>): void {
  chain = chain.then(async () => {
    const controller = new AbortController();
    if (cancelled.delete(id)) controller.abort(new DOMException('stopped', 'AbortError'));
    running = { id, controller };
    try {
      controller.signal.throwIfAborted();
      const result = await job(controller.signal);
      if (id >= 0) post({ id, kind: 'result', result }, transferables(result));
    } catch (err) {
      const e = err as Error;
      if (id >= 0)
        post({ id, kind: 'error', message: e.message ?? String(err), aborted: e.name === 'AbortError' });
      else console.warn('netvis worker:', e);
    } finally {
      running = undefined;
    }
  });
}

function control(what: Control, id: number): void {
  if (what === 'pause') gate.close();
  else if (what === 'resume') {
    gate.open();
    post({ kind: 'paused', paused: false });
  } else {
    if (running?.id === id) running.controller.abort(new DOMException('stopped', 'AbortError'));
    else cancelled.add(id);
    gate.open();
  }
}

scope.addEventListener('message', (e) => {
  const msg = e.data;
  if ('control' in msg) control(msg.control, msg.id);
  else queue(msg.id, (signal) => perform(msg.id, msg.request, signal));
});
