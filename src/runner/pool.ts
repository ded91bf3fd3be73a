import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { TaskError } from './errors.js';
import type { Task, TaskResult } from './task.js';

/** What every worker thread of a pool loads. */
export interface PoolConfig {
  /** Model name or path, as `loadClassifier` takes it. */
  model: string;
  labels?: string;
  /** Intra-op threads of each worker's ONNX Runtime sessions. */
  threads: number;
}

/** A worker's answer: the result, or the error it threw (name, message and stack). */
export type WorkerReply =
  { result: TaskResult; threadId: number } | { error: { name: string; message: string; stack?: string } };

// Errors of bad input (not bugs) by class name, as they cross the thread boundary.
const INPUT_ERRORS = new Set([
  'ImageError',
  'ClassLookupError',
  'TaskError',
  'ModelError',
  'ModelNotFoundError',
]);

/** Memory a worker used, as it reported after its tasks: the largest values seen, in bytes. */
export interface WorkerMemory {
  heapUsed: number;
  arrayBuffers: number;
  rss: number;
}

/** Intra-op threads per worker when not given: the cores shared out, at least one each. */
export function threadsPerWorker(workers: number): number {
  return Math.max(1, Math.floor(availableParallelism() / workers));
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

  constructor(
    readonly config: PoolConfig,
    readonly workers: number,
    heapMb: number,
  ) {
    const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    this.pool = new Piscina({
      filename: new URL(`./pool-worker.${ext}`, import.meta.url).href,
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Infinity,
      workerData: config,
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
  }

  /** Runs a task on the next free worker; `signal` stops a running task by ending its thread. */
  async run(task: Task, signal?: AbortSignal): Promise<TaskResult> {
    const reply = (await this.pool.run(task, { signal })) as WorkerReply;
    if ('error' in reply) {
      const { name, message, stack } = reply.error;
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

  /** Ends every worker thread. */
  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}
