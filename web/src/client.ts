// The page's side of the worker: requests as promises, progress as callbacks.
import type {
  BackendInfo,
  Control,
  FromWorker,
  ProgressOf,
  Request,
  ResultOf,
  ToWorker,
} from './protocol.js';

/** A job the worker stopped because it was asked to. */
export class StoppedError extends Error {
  override name = 'StoppedError';
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  onProgress?(progress: unknown): void;
}

/** A job sent to the worker: its result, and a way to stop it. */
export interface Job<T> {
  id: number;
  result: Promise<T>;
  stop(): void;
}

export class WorkerClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Called when the worker changes backend (WebGPU could not run a graph). */
  onBackend?: (info: BackendInfo) => void;
  /** Called when the runtime is held by a pause (true) or let go (false). */
  onPaused?: (paused: boolean) => void;

  constructor(private readonly worker: Worker) {
    worker.addEventListener('message', (e: MessageEvent<FromWorker>) => this.receive(e.data));
    worker.addEventListener('error', (e) => {
      const err = new Error(`the worker failed: ${e.message || 'could not load'}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  /** Sends a job; `onProgress` sees its steps (fooling, class visualization). */
  run<R extends Request>(
    request: R,
    onProgress?: (progress: ProgressOf<R['type']>) => void,
    transfer: Transferable[] = [],
  ): Job<ResultOf[R['type']]> {
    const id = this.nextId++;
    const result = new Promise<ResultOf[R['type']]>((resolve, reject) => {
      this.pending.set(id, {
        resolve: resolve as (r: unknown) => void,
        reject,
        onProgress: onProgress as (p: unknown) => void,
      });
    });
    this.post({ id, request }, transfer);
    return { id, result, stop: () => this.control('stop', id) };
  }

  /** Pauses or resumes the runtime, or stops job `id`. */
  control(control: Control, id = 0): void {
    this.post({ id, control });
  }

  private post(message: ToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  private receive(msg: FromWorker): void {
    if (msg.kind === 'backend') {
      this.onBackend?.(msg.backend);
      return;
    }
    if (msg.kind === 'paused') {
      this.onPaused?.(msg.paused);
      return;
    }
    const pending = this.pending.get(msg.id);
    if (!pending) return;
    if (msg.kind === 'progress') pending.onProgress?.(msg.progress);
    else {
      this.pending.delete(msg.id);
      if (msg.kind === 'result') pending.resolve(msg.result);
      else pending.reject(msg.aborted ? new StoppedError(msg.message) : new Error(msg.message));
    }
  }
}
