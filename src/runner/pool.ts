import { MessageChannel, type MessagePort as NodeMessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { TaskError } from './errors.js';
import type { RobustnessProgress, RobustnessTask, RobustnessTaskResult } from './robustness-task.js';
import type { Task, TaskResult } from './task.js';

/** What every worker thread of a pool loads. */
export interface PoolConfig {
  /** Model name or path, as `loadClassifier` takes it. */
  model: string;
  labels?: string;
  /** The tensor holding the class scores, when the graph's own guess is not wanted (`--logits`). */
  output?: string;
  /** Intra-op threads of each worker's ONNX Runtime sessions. */
  threads: number;
  /** One Int32 set to 1 by `interrupt()`: running tasks stop at their next model run. */
  stop: SharedArrayBuffer;
}

/** What a worker thread runs: a benchmark task (methods × metrics) or a chunk of a robustness run. */
export type PoolJob = Task | RobustnessTask;

/** A worker's answer: the result, or the error it threw (name, message and stack). */
export type WorkerReply =
  | { result: TaskResult | RobustnessTaskResult; threadId: number }
  | { error: { name: string; message: string; stack?: string } };

// Errors of bad input (not bugs) by class name, as they cross the thread boundary.
const INPUT_ERRORS = new Set([
  'ImageError',
  'ClassLookupError',
  'TaskError',
  'ModelError',
  'ModelNotFoundError',
  'OptionError',
]);

/** Memory a worker used, as it reported after its tasks: the largest values seen, in bytes. */
export interface WorkerMemory {
  heapUsed: number;
  arrayBuffers: number;
  rss: number;
}

/**
 * A pool of `workers` worker threads (piscina), each loading the classifier once with `threads` ONNX Runtime intra-op
 * threads, so `workers × threads` matches the cores instead of every session taking them all. Each thread's V8 heap
 * is capped at `heapMb` (a worker over it dies and its task fails); the peak memory each reported is kept in
 * `memory`. Tasks that fail on bad input reject with TaskError, others with Error (stack kept).
 */
export class TaskPool {
  private readonly pool: Piscina;
  /** Peak memory per worker thread, by thread id. */
  readonly memory = new Map<number, WorkerMemory>();

  private readonly stop = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    config: Omit<PoolConfig, 'stop'>,
    readonly workers: number,
    private readonly heapMb: number,
  ) {
    const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    this.pool = new Piscina({
      filename: new URL(`./pool-worker.${ext}`, import.meta.url).href,
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Infinity,
      workerData: { ...config, stop: this.stop.buffer } satisfies PoolConfig,
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
  }

  /**
   * Runs a benchmark task on the next free worker; rejects with an AbortError once `interrupt()` is called, with a
   * TaskError when the task's input is bad or the worker ran out of its heap.
   */
  async run(task: Task): Promise<TaskResult> {
    return (await this.call(task)) as TaskResult;
  }

  /**
   * Runs a chunk of a robustness run on the next free worker, passing the attacks' progress to `onProgress` as it
   * comes; rejects as `run` does.
   */
  async runRobustness(
    task: Omit<RobustnessTask, 'port'>,
    onProgress?: (progress: RobustnessProgress) => void,
  ): Promise<RobustnessTaskResult> {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (p: RobustnessProgress) => onProgress?.(p));
    try {
      // Node's MessagePort is what crosses to the worker; the DOM type only names it in the task's interface.
      const port = port2 as unknown as MessagePort;
      return (await this.call({ ...task, port }, [port2])) as RobustnessTaskResult;
    } finally {
      port1.close();
    }
  }

  private async call(
    job: PoolJob,
    transferList: NodeMessagePort[] = [],
  ): Promise<TaskResult | RobustnessTaskResult> {
    let reply: WorkerReply;
    try {
      reply = (await this.pool.run(job, { transferList })) as WorkerReply;
    } catch (err) {
      // Not a bug but a limit the user set (or a model too big for it): say which.
      if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY')
        throw new TaskError(
          `a worker thread ran out of memory at its heap limit of ${this.heapMb} MB (--worker-memory); give it more`,
        );
      throw err;
    }
    if ('error' in reply) {
      const { name, message, stack } = reply.error;
      if (name === 'AbortError') throw new DOMException(message, 'AbortError');
      if (INPUT_ERRORS.has(name)) throw new TaskError(message);
      const err = new Error(message);
      err.stack = stack;
      throw err;
    }
    const { result, threadId } = reply;
    const seen = this.memory.get(threadId);
    const m = result.memory;
    this.memory.set(threadId, {
      heapUsed: Math.max(m.heapUsed, seen?.heapUsed ?? 0),
      arrayBuffers: Math.max(m.arrayBuffers, seen?.arrayBuffers ?? 0),
      rss: Math.max(m.rss, seen?.rss ?? 0),
    });
    return result;
  }

  /** Stops the running tasks at their next model run (they reject with an AbortError) and refuses new ones. */
  interrupt(): void {
    Atomics.store(this.stop, 0, 1);
  }

  /** Ends every worker thread; call it when no task runs (ending a thread inside an ONNX Runtime run aborts the process). */
  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}

/** How `runOnPool` runs its items and stores results. */
export interface PoolRunOptions<P, R> {
  /** Runs one item on the pool (reading its files just before, so only the items in flight are in memory). */
  run: (item: P) => Promise<R>;
  /** Stores a finished item's result. */
  onResult: (item: P, result: R) => Promise<void>;
  signal?: AbortSignal;
}

/**
 * Runs `items` on the pool, one per worker at a time, handing each result to `onResult` as it finishes. On abort or a
 * failed item, the items running elsewhere are interrupted and awaited (so the pool can be destroyed safely), then
 * the abort reason or the first error is thrown.
 */
export async function runOnPool<P, R>(pool: TaskPool, items: P[], opts: PoolRunOptions<P, R>): Promise<void> {
  const queue = [...items];
  const stop = () => pool.interrupt();
  opts.signal?.addEventListener('abort', stop);
  try {
    const loops = await Promise.allSettled(
      Array.from({ length: Math.min(pool.workers, items.length) }, async () => {
        try {
          for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
            opts.signal?.throwIfAborted();
            await opts.onResult(t, await opts.run(t));
          }
        } catch (err) {
          stop();
          throw err;
        }
      }),
    );
    opts.signal?.throwIfAborted();
    // The first real error, not the interrupts it caused elsewhere.
    const errors = loops.flatMap((l) => (l.status === 'rejected' ? [l.reason as Error] : []));
    const first = errors.find((e) => e.name !== 'AbortError') ?? errors[0];
    if (first) throw first;
  } finally {
    opts.signal?.removeEventListener('abort', stop);
  }
}
