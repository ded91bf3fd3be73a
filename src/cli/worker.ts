import { Command, Option } from 'commander';
import { checkQueueUrl } from './benchmark.js';
import { poolSize, withPoolOptions, type PoolFlags } from './pool-options.js';
import { InterruptedError } from './errors.js';
import { classifierFrom, positiveInt, withModelOptions, type ModelFlags } from './shared.js';

// A day: BullMQ's lock timers (up to twice this, in ms) must stay within a Node timer's 2^31 ms.
const MAX_STALL_SECONDS = 86_400;

interface WorkerFlags extends ModelFlags, PoolFlags {
  queue: string;
  stallTimeout: number;
}

/**
 * `netvis worker --queue redis://HOST:PORT`: takes benchmark jobs from the queue until Ctrl-C or SIGTERM, with a line
 * on stderr per job started, completed or failed (with --quiet, only the failed ones).
 */
export function workerCommand(): Command {
  return withModelOptions(
    withPoolOptions(new Command('worker'))
      .description(
        'take `netvis benchmark --queue` jobs from a Redis queue (BullMQ) and compute them on this machine; run one per machine, as many machines as you like',
      )
      .requiredOption('--queue <url>', 'the Redis the benchmark enqueues on: redis://HOST:PORT')
      .addOption(
        new Option(
          '--stall-timeout <s>',
          `seconds without this worker's heartbeat after which its job goes to another worker (a killed worker's job is retried after this, up to twice as long); 1 to ${MAX_STALL_SECONDS}`,
        )
          .default(30)
          .argParser(positiveInt('--stall-timeout', MAX_STALL_SECONDS)),
      ),
    'ONNX Runtime threads per worker thread (default: the cores shared out)',
  ).action(async (flags: WorkerFlags) => {
    await checkQueueUrl(flags.queue);
    const { checkRedis, serveQueue } = await import('../runner/queue.js');
    const { hashFile } = await import('../runner/plan.js');
    const { TaskPool } = await import('../runner/pool.js');
    await checkRedis(flags.queue);
    const classifier = await classifierFrom({ ...flags, threads: 1 });
    const modelHash = await hashFile(classifier.source);
    await classifier.dispose();
    const { workers, threads } = poolSize(flags);
    const pool = new TaskPool(
      { model: classifier.source, labels: flags.labels, threads },
      workers,
      flags.workerMemory,
    );
    let jobs = 0;
    const served = serveQueue(flags.queue, {
      run: (task) => pool.run(task),
      modelHash,
      concurrency: workers,
      stallTimeoutMs: flags.stallTimeout * 1000,
      onJob: (event, task, detail) => {
        if (event === 'completed') jobs++;
        if (flags.quiet && event !== 'failed') return;
        const what = `${task.method.label} on ${task.images.length} image${task.images.length === 1 ? '' : 's'} (${task.images[0].name}…), ${task.metrics.map((s) => s.label).join(', ')}`;
        process.stderr.write(
          `netvis worker: ${event === 'active' ? 'started' : event} ${what}${detail ? `: ${detail}` : ''}\n`,
        );
      },
    });
    process.stderr.write(
      `netvis worker: waiting for jobs on ${flags.queue} (${workers} worker thread${workers === 1 ? '' : 's'} × ${threads} ONNX Runtime thread${threads === 1 ? '' : 's'}, model ${classifier.source}); Ctrl-C to stop\n`,
    );
    // Runs until a signal; then the running jobs stop at their next model run and go back on the queue.
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    pool.interrupt();
    await served.close();
    await pool.destroy();
    throw new InterruptedError(`${jobs} jobs done; the jobs in flight went back to the queue`);
  });
}
