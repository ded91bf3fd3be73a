import { decodeImage } from '../image/decode.js';
import { imageToTensor } from '../image/preprocess.js';
import { centerCrop, resizeShorterSide } from '../image/resize.js';
import type { Preprocessing, RgbImage } from '../image/types.js';
import {
  ATTRIBUTION_METHODS,
  attributionMethod,
  type MethodSettings,
} from '../methods/attribution/registry.js';
import { channelSum } from '../methods/attribution/support.js';
import { argmaxRows } from '../methods/common.js';
import { METRICS, type Explainer } from '../methods/evaluation/registry.js';
import { metricOptions } from '../methods/evaluation/support.js';
import type { Classifier } from '../model/classifier.js';
import { concatBatch, type Tensor } from '../tensor.js';
import { TaskError } from './errors.js';
import type { Spec } from './spec.js';

/** An image as a task carries it: its bytes, so a worker on another machine needs no shared disk. */
export interface TaskImage {
  /** SHA-256 of the file's bytes (hex): the image's part of a result key. */
  hash: string;
  /** The name shown in tables and errors. */
  name: string;
  bytes: Uint8Array;
  label?: string;
  box?: [number, number, number, number];
  maskBytes?: Uint8Array;
}

/** One unit of work: a few images, one method, and the metrics to score its maps with. */
export interface Task {
  /** Deterministic id (a hash of everything below): the queue job id. */
  id: string;
  /** The model as the benchmark named it, and the SHA-256 of its file; a worker refuses a different model. */
  model: { ref: string; hash: string };
  method: Spec;
  metrics: Spec[];
  images: TaskImage[];
}

/** An attribution map stored for the leaderboard's drill-down, area-averaged to at most `MAP_SIDE` pixels a side. */
export interface StoredMap {
  height: number;
  width: number;
  data: Float32Array;
}

/** What a task returns: per image its label and map, per metric its per-image values. */
export interface TaskResult {
  id: string;
  labels: number[];
  /** values[m][i]: metric m of image i. */
  values: number[][];
  /** Seconds spent on the maps and on each metric, for the whole task. */
  seconds: { maps: number; metrics: number[] };
  maps: StoredMap[];
  /** The memory of the thread that ran the task, in bytes, after it ran (V8 heap, array buffers, process RSS). */
  memory: { heapUsed: number; arrayBuffers: number; rss: number };
}

/** Longest side of a stored map: the drill-down shows maps at thumbnail size. */
export const MAP_SIDE = 112;

// The settings a method may be given in brackets (`ig[steps=32]`); each method reads those it knows.
const METHOD_OPTIONS: readonly (keyof MethodSettings)[] = [
  'layer',
  'samples',
  'noiseLevel',
  'steps',
  'baseline',
  'rule',
  'window',
  'stride',
  'seed',
];

/**
 * Checks that every method and metric exists, that their options are ones they take, and that metrics needing masks
 * get a box or mask for every image; returns the metrics with every option filled in (the metric's defaults for those
 * not given), so a result's key says exactly how it was computed. Throws TaskError naming the culprit.
 */
export function checkSpecs(methods: Spec[], metrics: Spec[], haveMasks: boolean): Spec[] {
  for (const m of methods) {
    if (!attributionMethod(m.name))
      throw new TaskError(
        `unknown method '${m.name}'; expected one of ${ATTRIBUTION_METHODS.map((a) => a.name).join(', ')}`,
      );
    const bad = Object.keys(m.options).find((k) => !(METHOD_OPTIONS as readonly string[]).includes(k));
    if (bad)
      throw new TaskError(`${m.name}: unknown option '${bad}'; expected one of ${METHOD_OPTIONS.join(', ')}`);
  }
  return metrics.map((m) => {
    if (!Object.hasOwn(METRICS, m.name))
      throw new TaskError(`unknown metric '${m.name}'; expected one of ${Object.keys(METRICS).join(', ')}`);
    if (METRICS[m.name].needsMasks && !haveMasks)
      throw new TaskError(
        `metric '${m.name}' needs a box or mask for every image: give a manifest with a box or mask column`,
      );
    try {
      return { ...m, options: metricOptions(m.name, METRICS[m.name].options, m.options) as Spec['options'] };
    } catch (err) {
      throw new TaskError((err as Error).message);
    }
  });
}

const crop = (img: RgbImage, p: Preprocessing) => centerCrop(resizeShorterSide(img, p.resize), p.crop);

/** An N×H×W 0/1 mask per image from its box or mask file, resized and cropped as the image was. */
async function objectMasks(images: TaskImage[], originals: RgbImage[], p: Preprocessing): Promise<Tensor> {
  const planes: Tensor[] = [];
  for (const [i, item] of images.entries()) {
    const { width, height } = originals[i];
    let mask: RgbImage;
    if (item.maskBytes) {
      mask = await decodeImage(item.maskBytes, `mask of ${item.name}`);
      if (mask.width !== width || mask.height !== height)
        throw new TaskError(
          `mask of ${item.name} is ${mask.width}×${mask.height}, the image ${width}×${height}`,
        );
    } else if (item.box) {
      const [x0, y0, x1, y1] = item.box.map(Math.round);
      mask = { width, height, data: new Uint8Array(width * height * 3) };
      for (let y = Math.max(0, y0); y < Math.min(height, y1); y++)
        mask.data.fill(255, (y * width + Math.max(0, x0)) * 3, (y * width + Math.min(width, x1)) * 3);
    } else throw new TaskError(`${item.name} has no box or mask`);
    const small = crop(mask, p);
    const plane = new Float32Array(small.width * small.height);
    for (let q = 0; q < plane.length; q++) plane[q] = small.data[q * 3] > 127 ? 1 : 0;
    planes.push({ data: plane, dims: [1, small.height, small.width] });
  }
  return concatBatch(planes);
}

/** `map` (H×W) area-averaged by the smallest whole factor that brings both sides to at most MAP_SIDE. */
function shrinkMap(map: Float32Array, h: number, w: number): StoredMap {
  const f = Math.ceil(Math.max(h, w) / MAP_SIDE);
  const oh = Math.floor(h / f);
  const ow = Math.floor(w / f);
  const out = new Float32Array(oh * ow);
  for (let y = 0; y < oh * f; y++)
    for (let x = 0; x < ow * f; x++)
      out[Math.floor(y / f) * ow + Math.floor(x / f)] += map[y * w + x] / (f * f);
  return { height: oh, width: ow, data: out };
}

/** The method's maps as the metrics take them: N×H×W, channels summed (Quantus's `reduce_axes` default). */
function explainerFor(method: Spec, signal?: AbortSignal): Explainer {
  const { run } = attributionMethod(method.name)!;
  return async (classifier, images, labels) =>
    channelSum(
      (await run(classifier, images, labels, { ...(method.options as MethodSettings), signal })).maps,
    );
}

/**
 * Runs a task on `classifier`: decodes and preprocesses its images, takes each image's label from the manifest (index,
 * WordNet id or name) or else the predicted class, computes the method's maps (N×H×W, channels summed) and scores them
 * with each metric. Deterministic for a given task: a rerun or another worker gives the same values. Throws TaskError
 * for unknown names or missing masks, ImageError for undecodable images; honours `signal` between model runs.
 */
export async function runTask(classifier: Classifier, task: Task, signal?: AbortSignal): Promise<TaskResult> {
  checkSpecs(
    [task.method],
    task.metrics,
    task.images.every((i) => i.box ?? i.maskBytes),
  );
  const p = classifier.preprocessing;
  const originals = await Promise.all(task.images.map((i) => decodeImage(i.bytes, i.name)));
  const images = concatBatch(originals.map((o) => imageToTensor(crop(o, p), p)));
  const needMasks = task.metrics.some((m) => METRICS[m.name].needsMasks);
  const masks = needMasks ? await objectMasks(task.images, originals, p) : undefined;
  const predicted = argmaxRows(await classifier.logits(images));
  const labels = task.images.map((img, i) =>
    img.label === undefined ? predicted[i] : classifier.labels.resolve(img.label).index,
  );
  const explain = explainerFor(task.method, signal);
  let t0 = performance.now();
  const maps = await explain(classifier, images, labels);
  const seconds = { maps: (performance.now() - t0) / 1000, metrics: [] as number[] };
  const values: number[][] = [];
  for (const metric of task.metrics) {
    signal?.throwIfAborted();
    t0 = performance.now();
    const v = await METRICS[metric.name].evaluate(
      { classifier, images, maps, labels, explain, masks, signal },
      metric.options,
    );
    if (v.length !== labels.length)
      throw new Error(`metric ${metric.name} gave ${v.length} values for ${labels.length} images`);
    values.push(v);
    seconds.metrics.push((performance.now() - t0) / 1000);
  }
  const [, h, w] = maps.dims;
  const stored = labels.map((_, i) => shrinkMap(maps.data.subarray(i * h * w, (i + 1) * h * w), h, w));
  const { heapUsed, arrayBuffers, rss } = process.memoryUsage();
  return { id: task.id, labels, values, seconds, maps: stored, memory: { heapUsed, arrayBuffers, rss } };
}
