// What the attribution methods share: targets, batching, results.
import type { Classifier, GradientRequest, GradientResult } from '../../model/classifier.js';
import { padBatch, sliceBatch, type Tensor } from '../../tensor.js';
import type { Composite } from '../../autodiff/types.js';
import { argmaxRows, checkImageBatch, oneHot, resolveClasses, type ClassRef } from '../common.js';

/** The class(es) to explain: one for every image, one per image, or undefined for each image's predicted class. */
export type Target = ClassRef | readonly ClassRef[] | undefined;

/** Options every attribution method takes. */
export interface AttributionOptions {
  /** Inputs per model run (images, noisy samples, path points or occluded copies); bounds memory. */
  batchSize?: number;
  /** Called after each batch with the inputs done so far and the total. */
  onStep?: (done: number, total: number) => void;
  /** Checked between batches: an abort rejects with its reason. */
  signal?: AbortSignal;
}

/** An attribution map per image and what it explains. */
export interface AttributionResult {
  /** N×3×H×W per-pixel attributions (signed unless the method says otherwise), or N×H×W for region methods. */
  maps: Tensor;
  /** The class each map explains. */
  labels: number[];
  /** Each image's raw score (logit) for its label. */
  scores: number[];
}

/** Checks `images` and `batchSize` and resolves the target of each image (the predicted class when none is given), with its logit. */
export async function resolveTargets(
  classifier: Classifier,
  images: Tensor,
  target: Target,
  batchSize: number,
  method: string,
): Promise<{ labels: number[]; scores: number[] }> {
  checkImageBatch(images);
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new RangeError(`${method}: batchSize ${batchSize}, expected a positive integer`);
  const n = images.dims[0];
  let given: number[] | undefined;
  if (target !== undefined) {
    const refs = typeof target === 'number' || typeof target === 'string' ? [target] : target;
    if (refs.length !== 1 && refs.length !== n)
      throw new Error(`${method}: ${refs.length} targets for ${n} images (give one, or one per image)`);
    const resolved = resolveClasses(classifier, refs);
    given = Array.from({ length: n }, (_, i) => resolved[refs.length === 1 ? 0 : i]);
  }
  const labels: number[] = [];
  const scores: number[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const logits = await classifier.logits(sliceBatch(images, start, count));
    const k = logits.dims[1];
    const chosen = given?.slice(start, start + count) ?? argmaxRows(logits);
    chosen.forEach((c, i) => {
      labels.push(c);
      scores.push(logits.data[i * k + c]);
    });
  }
  return { labels, scores };
}

/**
 * Runs `total` inputs in batches of one size, `min(batchSize, total)`: `step(start, count, size)` builds and runs a
 * batch of `size` inputs whose first `count` are inputs `start…start+count-1` (the last batch is padded, e.g. by
 * repeating its last input, and the padding ignored), so one compiled graph serves the whole run. Honours `signal`
 * between batches and reports progress through `onStep`.
 */
export async function inBatches(
  total: number,
  batchSize: number,
  { onStep, signal }: Pick<AttributionOptions, 'onStep' | 'signal'>,
  step: (start: number, count: number, size: number) => Promise<void>,
): Promise<void> {
  const size = Math.min(batchSize, total);
  for (let start = 0; start < total; start += size) {
    signal?.throwIfAborted();
    const count = Math.min(size, total - start);
    await step(start, count, size);
    onStep?.(start + count, total);
  }
}

/** N×H×W from N×C×H×W by summing the channels (Captum's `visualize_image_attr`), or their absolute values with `absolute` (PAIR saliency's grayscale view); N×H×W maps are returned as they are. */
export function channelSum(maps: Tensor, absolute = false): Tensor {
  if (maps.dims.length === 3) return maps;
  if (maps.dims.length !== 4) throw new RangeError(`channelSum: dims [${maps.dims}], expected N×C×H×W`);
  const [n, c, h, w] = maps.dims;
  const plane = h * w;
  const out = new Float32Array(n * plane);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++) {
      const from = (i * c + ch) * plane;
      for (let p = 0; p < plane; p++) {
        const v = maps.data[from + p];
        out[i * plane + p] += absolute ? Math.abs(v) : v;
      }
    }
  return { data: out, dims: [n, h, w] };
}

/**
 * Input gradients of class logits at `total` inputs shaped as one image of `dims` (N×C×H×W), in batches of
 * `batchSize` (the last one padded with copies of its last input, so one compiled graph serves the run), with the
 * backward rules of `composite` (default: the true gradient): `fill(j, out)` writes input j into `out` (called once per input,
 * in order) and returns the class whose logit it differentiates; `use(j, grad)` gets input j's gradient (C×H×W, valid
 * during the call). The loop of the path and sampling methods (Integrated Gradients, GradientSHAP, SmoothGrad).
 */
export async function gradientsAt(
  classifier: Classifier,
  dims: readonly number[],
  total: number,
  fill: (j: number, out: Float32Array) => number,
  use: (j: number, grad: Float32Array) => void,
  {
    batchSize,
    composite,
    onStep,
    signal,
  }: Pick<AttributionOptions, 'onStep' | 'signal'> & {
    batchSize: number;
    composite?: Composite;
  },
): Promise<void> {
  const shape = dims.slice(1);
  const per = shape.reduce((a, b) => a * b, 1);
  let batch: Float32Array | undefined;
  await inBatches(total, batchSize, { onStep, signal }, async (start, count, size) => {
    batch ??= new Float32Array(size * per);
    const rows: number[] = [];
    for (let r = 0; r < count; r++) rows.push(fill(start + r, batch.subarray(r * per, (r + 1) * per)));
    for (let r = count; r < size; r++) {
      batch.copyWithin(r * per, (count - 1) * per, count * per);
      rows.push(rows[count - 1]);
    }
    const { grad } = await classifier.inputGradient(
      { data: batch, dims: [size, ...shape] },
      oneHot(rows, classifier.numClasses),
      composite,
    );
    for (let r = 0; r < count; r++) use(start + r, grad.data.subarray(r * per, (r + 1) * per));
  });
}

/**
 * The gradients of each image's label logit as `request` asks (`wrt`, `expose`, `composite`), the images in batches of
 * `batchSize` (the last one padded): `use(start, count, result, x)` reads the first `count` rows of the batch `x`,
 * images start…start+count−1. The loop of the methods that read a layer (CAMs, attention, FullGrad).
 */
export async function labelGradients(
  classifier: Classifier,
  images: Tensor,
  labels: readonly number[],
  request: Omit<GradientRequest, 'seeds' | 'objective'>,
  { batchSize, onStep, signal }: Pick<AttributionOptions, 'onStep' | 'signal'> & { batchSize: number },
  use: (start: number, count: number, result: GradientResult, x: Tensor) => void | Promise<void>,
): Promise<void> {
  await inBatches(images.dims[0], batchSize, { onStep, signal }, async (start, count, size) => {
    const rows = labels.slice(start, start + count);
    while (rows.length < size) rows.push(rows[count - 1]);
    const x = padBatch(sliceBatch(images, start, count), size);
    const seeds = { [classifier.outputName]: oneHot(rows, classifier.numClasses) };
    await use(start, count, await classifier.gradients(x, { ...request, seeds }), x);
  });
}

/** d logit[label_i] / d image_i for every image (N×3×H×W), in batches of `batchSize`, with the backward rules of `composite` (default: the true gradient). */
export async function inputGradients(
  classifier: Classifier,
  images: Tensor,
  labels: readonly number[],
  composite: Composite | undefined,
  batchSize: number,
  opts: Pick<AttributionOptions, 'onStep' | 'signal'> = {},
): Promise<Tensor> {
  const per = images.data.length / images.dims[0];
  const out = new Float32Array(images.data.length);
  await labelGradients(classifier, images, labels, { composite }, { ...opts, batchSize }, (start, count, r) =>
    out.set(r.grads[classifier.inputName].data.subarray(0, count * per), start * per),
  );
  return { data: out, dims: [...images.dims] };
}

export { padBatch };
