// A piscina worker thread: one classifier (its own ONNX Runtime sessions, `threads` intra-op threads) for every job,
// a benchmark task or a chunk of a robustness run.
import { threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import { loadClassifier } from '../model/load.js';
import type { Classifier } from '../model/classifier.js';
import { isRobustnessTask, runRobustnessTask } from './robustness-task.js';
import { runTask } from './task.js';
import type { PoolConfig, PoolJob, WorkerReply } from './pool.js';

let classifier: Promise<Classifier> | undefined;

/** Runs one job; errors come back as data so their class name survives the thread boundary. */
export default async function run(job: PoolJob): Promise<WorkerReply> {
  const { model, labels, output, threads, stop } = workerData as PoolConfig;
  // The pool's interrupt flag, looked at between model runs: ending a thread inside an ONNX Runtime run would
  // abort the process, so a task is stopped from within instead.
  const flag = new Int32Array(stop);
  const controller = new AbortController();
  const poll = setInterval(() => {
    if (Atomics.load(flag, 0)) controller.abort(new DOMException('interrupted', 'AbortError'));
  }, 50);
  try {
    classifier ??= loadClassifier({ model, labels, output, threads });
    const c = await classifier;
    const result = isRobustnessTask(job)
      ? await runRobustnessTask(c, job, controller.signal)
      : await runTask(c, job, controller.signal);
    return { result, threadId };
  } catch (err) {
    const e = err as Error;
    return { error: { name: e.name, message: e.message, stack: e.stack } };
  } finally {
    clearInterval(poll);
    if (isRobustnessTask(job)) job.port?.close();
  }
}
