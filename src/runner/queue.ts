import { Queue, QueueEvents, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { PlannedTask } from './plan.js';
import { QueueError, TaskError } from './errors.js';
import type { Task, TaskResult } from './task.js';

/** The BullMQ queue every `netvis benchmark --queue` and `netvis worker` share on a Redis server. */
export const QUEUE_NAME = 'netvis-benchmark';

/** ioredis options for `redis://[user:password@]HOST:PORT[/DB]`; throws QueueError for another form. */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueError(`--queue ${url}: expected redis://HOST:PORT`);
  }
  if (u.protocol !== 'redis:' || !u.hostname)
    throw new QueueError(`--queue ${url}: expected redis://HOST:PORT`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db))
    throw new QueueError(`--queue ${url}: database '${db}' is not a number`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    ...(db && { db: Number(db) }),
    ...(u.username && { username: decodeURIComponent(u.username) }),
    ...(u.password && { password: decodeURIComponent(u.password) }),
    // BullMQ's blocking commands need this; failures surface as errors instead of queued retries.
    maxRetriesPerRequest: null,
  };
}

/** Connects once and pings, so an unreachable Redis is a clear error before any work (QueueError). */
export async function checkRedis(url: string): Promise<void> {
  const options = redisOptions(url);
  const redis = new Redis({ ...options, lazyConnect: true, connectTimeout: 5000, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new QueueError(`cannot reach Redis at ${url}: ${(err as Error).message || 'connection refused'}`);
  } finally {
    redis.disconnect();
  }
}

// Jobs travel as JSON: bytes and maps as base64.
const b64 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

type JobTask = Omit<Task, 'images'> & {
  images: (Omit<Task['images'][number], 'bytes' | 'maskBytes'> & { bytes: string; maskBytes?: string })[];
};
type JobResult = Omit<TaskResult, 'maps'> & { maps: { height: number; width: number; data: string }[] };

function toJob(task: Task): JobTask {
  return {
    ...task,
    images: task.images.map(({ bytes, maskBytes, ...rest }) => ({
      ...rest,
      bytes: b64(bytes),
      ...(maskBytes && { maskBytes: b64(maskBytes) }),
    })),
  };
}

function fromJob(data: JobTask): Task {
  return {
    ...data,
    images: data.images.map(({ bytes, maskBytes, ...rest }) => ({
      ...rest,
      bytes: unb64(bytes),
      ...(maskBytes !== undefined && { maskBytes: unb64(maskBytes) }),
    })),
  };
}

function toJobResult(r: TaskResult): JobResult {
  return {
    ...r,
    maps: r.maps.map((m) => ({
      ...m,
      data: b64(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength)),
    })),
  };
}

function fromJobResult(r: JobResult): TaskResult {
  return { ...r, maps: r.maps.map((m) => ({ ...m, data: new Float32Array(unb64(m.data).slice().buffer) })) };
}

/** How the benchmark side runs tasks on the queue. */
export interface QueueRunOptions {
  /** Reads a planned task's files (called just before it is enqueued). */
  load: (planned: PlannedTask) => Promise<Task>;
  /** Stores a finished task; the job is removed from Redis only after this resolves. */
  onResult: (planned: PlannedTask, result: TaskResult) => Promise<void>;
  /** Jobs in Redis at a time (bounds Redis memory: jobs carry their image bytes); default 64. */
  window?: number;
  signal?: AbortSignal;
}

/**
 * Runs `tasks` as BullMQ jobs on the Redis at `url` and hands each result to `onResult` as it completes. Job ids are
 * the task ids, so a rerun after a crash finds the jobs it had enqueued (waiting, running or completed) instead of
 * adding them twice; a job that failed is retried once more by the rerun. Rejects with TaskError when a job fails on
 * a worker (with the worker's reason) and with the signal's reason on abort (queued jobs stay for the rerun).
 */
export async function runOnQueue(url: string, tasks: PlannedTask[], opts: QueueRunOptions): Promise<void> {
  const connection = redisOptions(url);
  const queue = new Queue<JobTask, JobResult>(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  const window = opts.window ?? 64;
  const pending = [...tasks];
  const outstanding = new Map<string, PlannedTask>();
  let failure: Error | undefined;
  let wake: () => void = () => {};
  // One check at a time: events, the sweep and the filler all go through it, so a job is stored once.
  let chain = Promise.resolve();
  const serially = (fn: () => Promise<void>) => {
    chain = chain.then(fn).catch((err: Error) => void (failure ??= err));
    return chain.then(() => wake());
  };
  const check = (id: string) =>
    serially(async () => {
      const planned = outstanding.get(id);
      if (!planned) return;
      const job: Job<JobTask, JobResult> | undefined = await queue.getJob(id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'completed') {
        await opts.onResult(planned, fromJobResult(job!.returnvalue));
        outstanding.delete(id);
        await job!.remove();
      } else if (state === 'failed')
        throw new TaskError(
          `a worker failed on ${planned.method.name} for ${planned.images.map((i) => i.item.name).join(', ')}: ${job!.failedReason}`,
        );
      else if (state === 'missing') outstanding.delete(id);
    });
  const fill = () =>
    serially(async () => {
      while (outstanding.size < window && pending.length) {
        opts.signal?.throwIfAborted();
        const planned = pending.shift()!;
        outstanding.set(planned.id, planned);
        const job = await queue.getJob(planned.id);
        if (!job) {
          await queue.add('task', toJob(await opts.load(planned)), {
            jobId: planned.id,
            removeOnComplete: false,
            removeOnFail: false,
          });
        } else if (await job.isFailed()) await job.retry('failed');
        else if (await job.isCompleted()) void check(planned.id);
      }
    });
  events.on('completed', ({ jobId }) => void check(jobId).then(fill));
  events.on('failed', ({ jobId }) => void check(jobId));
  const onAbort = () => wake();
  opts.signal?.addEventListener('abort', onAbort);
  // Events can be missed (a reconnect, a job finished before we listened): a sweep looks at every job now and then.
  const sweep = setInterval(() => {
    for (const id of outstanding.keys()) void check(id);
    void fill();
  }, 3000);
  try {
    await events.waitUntilReady();
    await fill();
    while (!failure && (pending.length || outstanding.size)) {
      opts.signal?.throwIfAborted();
      await new Promise<void>((resolve) => (wake = resolve));
    }
    await chain;
    if (failure) throw failure;
    opts.signal?.throwIfAborted();
  } finally {
    clearInterval(sweep);
    opts.signal?.removeEventListener('abort', onAbort);
    await events.close();
    await queue.close();
  }
}

/** How `netvis worker` takes jobs. */
export interface QueueWorkerOptions {
  /** Runs one task (e.g. on a worker thread); rejecting with an AbortError puts the job back on the queue. */
  run: (task: Task) => Promise<TaskResult>;
  /** The SHA-256 of this worker's model file: a job for another model fails at once (no retry). */
  modelHash: string;
  /** Jobs run at once. */
  concurrency: number;
  /** A job whose worker has not renewed its lock for this long is given to another worker; ms. */
  stallTimeoutMs: number;
  /** Called when a job starts, ends or fails. */
  onJob?: (event: 'active' | 'completed' | 'failed', task: Task, detail?: string) => void;
}

/**
 * Takes benchmark jobs from the queue on the Redis at `url` until `close` is called. A worker that dies mid-job stops
 * renewing its lock; after `stallTimeoutMs` (plus up to one more interval) another worker's stalled-job check puts
 * the job back on the queue (BullMQ's stalled jobs), and the benchmark's upsert keeps its results exactly once.
 */
export function serveQueue(
  url: string,
  opts: QueueWorkerOptions,
): { close: (force?: boolean) => Promise<void> } {
  const worker = new Worker<JobTask, JobResult>(
    QUEUE_NAME,
    async (job, token) => {
      const task = fromJob(job.data);
      if (task.model.hash !== opts.modelHash)
        throw new UnrecoverableError(
          `the job wants model ${task.model.ref} (sha256 ${task.model.hash.slice(0, 12)}…) but this worker runs sha256 ${opts.modelHash.slice(0, 12)}…: start the worker with --model ${task.model.ref}`,
        );
      opts.onJob?.('active', task);
      try {
        const result = toJobResult(await opts.run(task));
        opts.onJob?.('completed', task);
        return result;
      } catch (err) {
        // Stopped by Ctrl-C or SIGTERM: the job goes back on the queue at once for another worker.
        if ((err as Error).name === 'AbortError') {
          await job.moveToWait(token);
          throw new WaitingError();
        }
        opts.onJob?.('failed', task, (err as Error).message);
        // Bad input fails the same way on every worker: no retry.
        if (err instanceof TaskError) throw new UnrecoverableError((err as Error).message);
        throw err;
      }
    },
    {
      connection: redisOptions(url),
      concurrency: opts.concurrency,
      lockDuration: opts.stallTimeoutMs,
      stalledInterval: opts.stallTimeoutMs,
      maxStalledCount: 3,
    },
  );
  worker.on('error', (err) => process.stderr.write(`netvis worker: ${err.message}\n`));
  return { close: (force = false) => worker.close(force) };
}
