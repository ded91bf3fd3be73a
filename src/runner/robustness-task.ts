// A robustness run split into tasks: each attacks a few images and returns what it found, so the chunks of a run can
// go to the worker pool's threads (`netvis robustness --workers`) or run in the calling thread, with the same results.
import { loadImageBatch } from '../image/load.js';
import type { RgbImage } from '../image/types.js';
import {
  robustnessCurve,
  type RobustnessCurve,
  type RobustnessOptions,
} from '../methods/adversarial/robustness.js';
import type { Classifier } from '../model/classifier.js';

/** A robustness run's settings as they cross to a worker thread: data only (no callbacks, signal or labels). */
export type RobustnessSettings = Omit<RobustnessOptions, 'labels' | 'signal' | 'onStep'>;

/** An attack's progress within a task, as `robustnessCurve` reports it (AutoAttack: per attack). */
export interface RobustnessProgress {
  attack: string;
  done: number;
  total: number;
}

/** One robustness task: a few image files attacked with the run's settings. */
export interface RobustnessTask {
  kind: 'robustness';
  /** Image files (JPEG, PNG, WebP or .npy); workers are threads of this process, so they read the same disk. */
  paths: string[];
  /** Each image's true class index; none: the model's clean prediction. */
  labels?: number[];
  settings: RobustnessSettings;
  /** Where a worker thread posts its RobustnessProgress messages (transferred to it with the task). */
  port?: MessagePort;
}

/** Whether a pool job is a robustness task (benchmark tasks have no `kind`). */
export function isRobustnessTask(job: object): job is RobustnessTask {
  return 'kind' in job && job.kind === 'robustness';
}

/** What a robustness task returns: the curve over its images and the crops they were made from. */
export interface RobustnessTaskResult {
  curve: RobustnessCurve;
  /** Per image, the resized, cropped 8-bit RGB image the attacks started from (to check rounded examples against). */
  crops: RgbImage[];
  /** The memory of the thread that ran the task, in bytes, after it ran (V8 heap, array buffers, process RSS). */
  memory: { heapUsed: number; arrayBuffers: number; rss: number };
}

/**
 * Runs a robustness task on `classifier`: reads and preprocesses its images, then `robustnessCurve` with its
 * settings. Results do not depend on how a run is split into tasks: every random draw (PGD's start, APGD's, Square's)
 * is seeded from the seed and the image's own pixels. Throws ImageError for unreadable files and the errors of
 * `robustnessCurve`; honours `signal` between model runs; reports progress to `onProgress`, or else to the task's port.
 */
export async function runRobustnessTask(
  classifier: Classifier,
  task: RobustnessTask,
  signal?: AbortSignal,
  onProgress?: (progress: RobustnessProgress) => void,
): Promise<RobustnessTaskResult> {
  const { tensor, crops } = await loadImageBatch(task.paths, classifier.preprocessing);
  const report = onProgress ?? ((p: RobustnessProgress) => task.port?.postMessage(p));
  const curve = await robustnessCurve(classifier, tensor, {
    ...task.settings,
    labels: task.labels,
    signal,
    onStep: (_, __, progress) => {
      if (progress) report(progress);
    },
  });
  const { heapUsed, arrayBuffers, rss } = process.memoryUsage();
  return { curve, crops, memory: { heapUsed, arrayBuffers, rss } };
}
