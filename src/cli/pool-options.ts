// The options of a pool of worker threads (`benchmark`, `worker`, `robustness`): how many, their threads and heap.
import { Command, Option } from 'commander';
import { availableParallelism, totalmem } from 'node:os';
import { MAX_THREADS, positiveInt } from './shared.js';

/** Options of a worker-thread pool: how many threads, their ONNX Runtime threads, their heap limit. */
export interface PoolFlags {
  workers?: number;
  workerMemory: number;
  threads?: number;
}

// More worker threads than this only add contention (the same bound as --threads); more heap than the machine has
// is no limit.
const MAX_WORKERS = MAX_THREADS;
const MAX_HEAP_MB = Math.floor(totalmem() / 2 ** 20);

/** Adds --workers (described by `workersHelp`) and --worker-memory. */
export function withPoolOptions(
  cmd: Command,
  workersHelp = 'worker threads, each with its own model session (default: one per core)',
): Command {
  return cmd
    .addOption(
      new Option('--workers <n>', `${workersHelp}; 1 to ${MAX_WORKERS}`).argParser(
        positiveInt('--workers', MAX_WORKERS),
      ),
    )
    .addOption(
      new Option(
        '--worker-memory <MB>',
        `JavaScript heap limit per worker thread, in MB; 1 to ${MAX_HEAP_MB}`,
      )
        .default(2048)
        .argParser(positiveInt('--worker-memory', MAX_HEAP_MB)),
    );
}

/** Worker threads and ONNX Runtime threads each: as given, else one worker per core and the cores shared out. */
export function poolSize(flags: PoolFlags): { workers: number; threads: number } {
  const workers = flags.workers ?? availableParallelism();
  return { workers, threads: flags.threads ?? Math.max(1, Math.floor(availableParallelism() / workers)) };
}
