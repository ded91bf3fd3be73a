import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resultKey } from './database.js';
import type { DatasetItem } from './manifest.js';
import { canonicalOptions, type Spec } from './spec.js';
import type { Task } from './task.js';

/** Images per task: few enough that a kill loses little and workers share the load, enough to batch model runs. */
export const TASK_IMAGES = 4;

/** A dataset image with its content hash. */
export interface HashedItem {
  item: DatasetItem;
  hash: string;
}

/** A task before its images are read: what to compute, for which images. */
export interface PlannedTask {
  id: string;
  model: Task['model'];
  method: Spec;
  metrics: Spec[];
  images: HashedItem[];
}

/** SHA-256 (hex) of a file's bytes, streamed. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * The tasks still to run: per method, the dataset cut into fixed runs of TASK_IMAGES images by position, and each
 * run that lacks any of its (image, method, metric) results in `done` becomes a task for the metrics it lacks. The cut
 * does not depend on what is done, so a rerun computes every image in the same company as an uninterrupted run (the
 * same model batches, hence the same values); finished rows are rewritten with equal values.
 */
export function planTasks(
  images: HashedItem[],
  model: Task['model'],
  methods: Spec[],
  metrics: Spec[],
  done: Set<string>,
): PlannedTask[] {
  const tasks: PlannedTask[] = [];
  for (const method of methods)
    for (let start = 0; start < images.length; start += TASK_IMAGES) {
      const chunk = images.slice(start, start + TASK_IMAGES);
      const missing = metrics.filter((metric) =>
        chunk.some((img) => !done.has(resultKey(img.hash, method, metric))),
      );
      if (missing.length === 0) continue;
      const id = createHash('sha256')
        .update(
          JSON.stringify([
            model.hash,
            method.name,
            canonicalOptions(method.options),
            missing.map((m) => [m.name, canonicalOptions(m.options)]),
            chunk.map((c) => [c.hash, c.item.label ?? null, c.item.box ?? null, c.item.mask ?? null]),
          ]),
        )
        .digest('hex')
        .slice(0, 32);
      tasks.push({ id, model, method, metrics: missing, images: chunk });
    }
  return tasks;
}

/** Reads a planned task's image (and mask) files into a runnable task. */
export async function loadTask(planned: PlannedTask): Promise<Task> {
  const images = await Promise.all(
    planned.images.map(async ({ item, hash }) => ({
      hash,
      name: item.name,
      bytes: await readFile(item.path),
      ...(item.label !== undefined && { label: item.label }),
      ...(item.box && { box: item.box }),
      ...(item.mask && { maskBytes: await readFile(item.mask) }),
    })),
  );
  return { id: planned.id, model: planned.model, method: planned.method, metrics: planned.metrics, images };
}
