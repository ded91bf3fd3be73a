// What the metrics share: options, Quantus's preparation of maps, batched scoring of perturbed copies, orderings.
import { checkImageBatch, softmaxRows } from '../common.js';
import { inBatches } from '../attribution/support.js';
import { Random } from '../random.js';
import type { Tensor } from '../../tensor.js';
import type { MetricInput } from './types.js';

type OptionValue = number | boolean | string | number[] | null;

/**
 * `given` options over `defaults`: every key must be a default's and of its type (a null default takes a number);
 * throws naming the metric and the option otherwise.
 */
export function metricOptions<T extends Record<string, OptionValue>>(
  metric: string,
  defaults: T,
  given: Record<string, unknown> = {},
): T {
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in defaults))
      throw new RangeError(
        `${metric}: unknown option '${key}'; expected one of ${Object.keys(defaults).join(', ') || '(none)'}`,
      );
    const d = defaults[key];
    const ok =
      d === null
        ? value === null || typeof value === 'number'
        : Array.isArray(d)
          ? Array.isArray(value) && value.every((v) => typeof v === 'number')
          : typeof value === typeof d;
    if (!ok || (typeof value === 'number' && !Number.isFinite(value)))
      throw new RangeError(
        `${metric}: option '${key}' is ${JSON.stringify(value)}, expected ${d === null ? 'a number' : Array.isArray(d) ? 'an array of numbers' : `a ${typeof d}`}`,
      );
    out[key] = value;
  }
  return out as T;
}

/** Throws unless `value` is an integer in [min, max]. */
export function checkInteger(metric: string, name: string, value: number, min: number, max = Infinity): void {
  if (!(Number.isInteger(value) && value >= min && value <= max))
    throw new RangeError(
      `${metric}: ${name} ${value}, expected an integer ${max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`}`,
    );
}

/** Options shared by the metrics that replace features by a baseline, with Quantus's defaults. */
export const baselineDefaults = {
  perturbBaseline: 'black',
  abs: false,
  normalise: true,
  softmax: true,
  /** Seed of the 'uniform' baseline's draws. */
  seed: 0,
};

/** Throws unless `featuresInStep` is a whole divisor of the plane's `plane` pixels, as Quantus asks. */
export function checkFeaturesInStep(metric: string, featuresInStep: number, plane: number): void {
  checkInteger(metric, 'featuresInStep', featuresInStep, 1, plane);
  if (plane % featuresInStep !== 0)
    throw new RangeError(`${metric}: featuresInStep ${featuresInStep} does not divide H·W = ${plane}`);
}

/** Attribution maps prepared as Quantus prepares them: one row of `per` values per image. */
export interface Attributions {
  /** N rows of `per` = channels × plane values. */
  data: Float32Array;
  n: number;
  /** 1 for N×H×W maps (each value stands for its pixel's 3 channels), 3 for N×3×H×W maps. */
  channels: number;
  height: number;
  width: number;
  plane: number;
  per: number;
}

/**
 * Checks `maps` against `images` (N×H×W, N×1×H×W or N×3×H×W) and prepares a copy as Quantus does: with `normalise`,
 * each map divided by its largest absolute value (left as it is when all zero), then with `abs` absolute values.
 * Quantus divides by the largest value of the whole batch, which makes one image's score depend on the images it
 * is batched with; its documentation, and each metric's paper, normalise each explanation, as here.
 */
export function prepareMaps(
  metric: string,
  maps: Tensor,
  images: Tensor,
  { normalise, abs }: { normalise: boolean; abs: boolean },
): Attributions {
  checkImageBatch(images);
  const [n, c, height, width] = images.dims;
  const d = maps.dims;
  const channels =
    d.length === 3 && d[0] === n && d[1] === height && d[2] === width
      ? 1
      : d.length === 4 && d[0] === n && (d[1] === 1 || d[1] === c) && d[2] === height && d[3] === width
        ? d[1]
        : 0;
  if (!channels)
    throw new Error(
      `${metric}: maps of dims [${d}], expected [${n}, ${height}, ${width}] or [${n}, ${c}, ${height}, ${width}]`,
    );
  const plane = height * width;
  const per = channels * plane;
  const data = maps.data.slice(0, n * per);
  for (let i = 0; i < n; i++) {
    const row = data.subarray(i * per, (i + 1) * per);
    if (normalise) {
      let max = 0;
      for (const v of row) max = Math.max(max, Math.abs(v));
      if (max > 0) for (let f = 0; f < per; f++) row[f] /= max;
    }
    if (abs) for (let f = 0; f < per; f++) row[f] = Math.abs(row[f]);
  }
  return { data, n, channels, height, width, plane, per };
}

/** The maps spread over the images' C×H×W features (Quantus's broadcast of a 1-channel map to every channel). */
export function broadcastMaps(a: Attributions, channels: number): Float32Array {
  if (a.channels === channels) return a.data;
  const per = channels * a.plane;
  const out = new Float32Array(a.n * per);
  for (let i = 0; i < a.n; i++)
    for (let ch = 0; ch < channels; ch++)
      out.set(a.data.subarray(i * a.plane, (i + 1) * a.plane), i * per + ch * a.plane);
  return out;
}

/** Indices of `v` from its largest value to its smallest, ties by index (numpy's argsort leaves their order open). */
export function descending(v: ArrayLike<number>): Uint32Array {
  return Uint32Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[b] - v[a] || a - b);
}

/** Indices of `v` from its smallest value to its largest, ties by index. */
export function ascending(v: ArrayLike<number>): Uint32Array {
  return Uint32Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a] - v[b] || a - b);
}

/**
 * The value Quantus's `perturb_baseline` stands for in one image `x` (its C×H×W values): 'black' its smallest value,
 * 'white' its largest, 'mean' its mean, 'uniform' a draw from U(0, 1) (one per call, as Quantus draws one per image).
 */
export function baselineValue(metric: string, baseline: string, x: Float32Array, random: Random): number {
  switch (baseline) {
    case 'black':
      return x.reduce((m, v) => Math.min(m, v), Infinity);
    case 'white':
      return x.reduce((m, v) => Math.max(m, v), -Infinity);
    case 'mean':
      return x.reduce((s, v) => s + v, 0) / x.length;
    case 'uniform':
      return random.next();
    default:
      throw new RangeError(
        `${metric}: perturbBaseline '${baseline}', expected black, white, mean or uniform`,
      );
  }
}

/** How model outputs are read. */
export interface ScoreOptions {
  /** Softmax probabilities (true) or logits (false). */
  softmax: boolean;
}

/**
 * Runs `total` perturbed copies of the images through the classifier in batches of `input.batchSize` (default 16)
 * and returns the score of `label(j)` for each copy j, softmax probability or logit, and each copy's predicted class.
 * `fill(j, out)` writes copy j (C×H×W) into `out`; it is called once per copy, in order of j, so it may keep state
 * (a cumulative perturbation). Progress goes to `input.onStep`; `input.signal` stops between batches.
 */
export async function scoreCopies(
  input: Pick<MetricInput, 'classifier' | 'images' | 'batchSize' | 'onStep' | 'signal'>,
  total: number,
  fill: (j: number, out: Float32Array) => void,
  label: (j: number) => number,
  { softmax }: ScoreOptions,
): Promise<{ scores: Float64Array; predicted: Int32Array }> {
  const [, c, h, w] = input.images.dims;
  const per = c * h * w;
  const scores = new Float64Array(total);
  const predicted = new Int32Array(total);
  if (total === 0) return { scores, predicted };
  let batch: Float32Array | undefined;
  await inBatches(total, input.batchSize ?? 16, input, async (start, count, size) => {
    batch ??= new Float32Array(size * per);
    for (let r = 0; r < count; r++) fill(start + r, batch.subarray(r * per, (r + 1) * per));
    // Padding rows keep whatever an earlier batch left: their outputs are ignored.
    const logits = await input.classifier.logits({ data: batch, dims: [size, c, h, w] });
    const k = logits.dims[1];
    const out = softmax ? softmaxRows(logits) : logits.data;
    for (let r = 0; r < count; r++) {
      const row = out.subarray(r * k, (r + 1) * k);
      scores[start + r] = row[label(start + r)];
      let best = 0;
      for (let q = 1; q < k; q++) if (row[q] > row[best]) best = q;
      predicted[start + r] = best;
    }
  });
  return { scores, predicted };
}

/** Checks `masks` (N×H×W, or N×1×H×W) against the images and returns them as 0/1 rows of H·W. */
export function prepareMasks(metric: string, masks: Tensor | undefined, images: Tensor): Uint8Array {
  const [n, , h, w] = images.dims;
  if (!masks) throw new Error(`${metric}: needs a ground-truth mask per image`);
  const d = masks.dims;
  const fits =
    (d.length === 3 && d[0] === n && d[1] === h && d[2] === w) ||
    (d.length === 4 && d[0] === n && d[1] === 1 && d[2] === h && d[3] === w);
  if (!fits) throw new Error(`${metric}: masks of dims [${d}], expected [${n}, ${h}, ${w}]`);
  return Uint8Array.from(masks.data.subarray(0, n * h * w), (v) => (v !== 0 ? 1 : 0));
}

/** Pearson correlation of two equally long arrays (float64); NaN when one is constant, as scipy. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const m = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < m; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= m;
  mb /= m;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < m; i++) {
    num += (a[i] - ma) * (b[i] - mb);
    da += (a[i] - ma) ** 2;
    db += (b[i] - mb) ** 2;
  }
  return da > 0 && db > 0 ? Math.max(-1, Math.min(1, num / Math.sqrt(da * db))) : NaN;
}

/** Ranks (1-based, ties averaged) of `v`. */
export function ranks(v: ArrayLike<number>): Float64Array {
  const order = ascending(v);
  const r = new Float64Array(v.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && v[order[j + 1]] === v[order[i]]) j++;
    for (let q = i; q <= j; q++) r[order[q]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman rank correlation (Pearson correlation of the ranks, ties averaged); NaN when one is constant, as scipy. */
export function spearmanCorrelation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

/** Area under a curve by the trapezoid rule with unit spacing (numpy's `trapz(curve, dx=1)`, Quantus's `calculate_auc`). */
export function trapezoid(curve: ArrayLike<number>): number {
  let s = 0;
  for (let i = 1; i < curve.length; i++) s += (curve[i - 1] + curve[i]) / 2;
  return s;
}

/** Prepared maps and 0/1 masks spread over the maps' features, row by row: what the localisation metrics read. */
export function localisationRows(
  metric: string,
  input: Pick<MetricInput, 'maps' | 'images' | 'masks'>,
  prepare: { normalise: boolean; abs: boolean },
): { a: Attributions; rows: { values: Float32Array; mask: Uint8Array; inside: number }[] } {
  const a = prepareMaps(metric, input.maps, input.images, prepare);
  const masks = prepareMasks(metric, input.masks, input.images);
  const rows = Array.from({ length: a.n }, (_, i) => {
    const mask = new Uint8Array(a.per);
    for (let ch = 0; ch < a.channels; ch++)
      mask.set(masks.subarray(i * a.plane, (i + 1) * a.plane), ch * a.plane);
    const inside = mask.reduce((s, v) => s + v, 0);
    return { values: a.data.subarray(i * a.per, (i + 1) * a.per), mask, inside };
  });
  return { a, rows };
}

/**
 * Per image, one value per noisy copy (`nrSamples` of them): the explanation method is re-run on copies x' = x + noise
 * (`noise(random)` per value, seeded by `seed`), in batches of `input.batchSize` copies (default 16) across images and
 * samples, and `score(a, a', x, x')` compares the image's prepared map with the copy's (prepared alike: per-image
 * normalisation and absolute values as `o` says). With `dropChanged`, copies whose predicted class differs from the
 * image's score NaN.
 */
export async function copyScores(
  metric: string,
  input: MetricInput,
  o: { nrSamples: number; seed: number; normalise: boolean; abs: boolean },
  noise: (random: Random) => number,
  score: (a: Float32Array, b: Float32Array, x: Float32Array, copy: Float32Array) => number,
  dropChanged: boolean,
): Promise<Float64Array[]> {
  checkInteger(metric, 'nrSamples', o.nrSamples, 1);
  const a = prepareMaps(metric, input.maps, input.images, o);
  const [n, c, h, w] = input.images.dims;
  const per = c * h * w;
  const samples = o.nrSamples;
  const random = new Random(o.seed);
  const out = Array.from({ length: n }, () => new Float64Array(samples));
  const predict = async (x: Tensor) =>
    (
      await scoreCopies(
        { ...input, images: x, onStep: undefined },
        x.dims[0],
        (r, row) => row.set(x.data.subarray(r * per, (r + 1) * per)),
        () => 0,
        { softmax: false },
      )
    ).predicted;
  const original = dropChanged ? await predict(input.images) : undefined;
  const total = n * samples;
  const size = Math.min(input.batchSize ?? 16, total);
  for (let start = 0; start < total; start += size) {
    input.signal?.throwIfAborted();
    const count = Math.min(size, total - start);
    const batch = new Float32Array(count * per);
    const labels: number[] = [];
    for (let r = 0; r < count; r++) {
      const i = Math.floor((start + r) / samples);
      const x = input.images.data.subarray(i * per, (i + 1) * per);
      const copy = batch.subarray(r * per, (r + 1) * per);
      for (let f = 0; f < per; f++) copy[f] = x[f] + noise(random);
      labels.push(input.labels[i]);
    }
    const copies: Tensor = { data: batch, dims: [count, c, h, w] };
    const maps = prepareMaps(metric, await input.explain(input.classifier, copies, labels), copies, o);
    if (maps.per !== a.per)
      throw new Error(`${metric}: explain gave ${maps.per} values per image, the maps under test ${a.per}`);
    const predicted = original ? await predict(copies) : undefined;
    for (let r = 0; r < count; r++) {
      const i = Math.floor((start + r) / samples);
      out[i][(start + r) % samples] =
        predicted && predicted[r] !== original![i]
          ? NaN
          : score(
              a.data.subarray(i * a.per, (i + 1) * a.per),
              maps.data.subarray(r * a.per, (r + 1) * a.per),
              input.images.data.subarray(i * per, (i + 1) * per),
              batch.subarray(r * per, (r + 1) * per),
            );
    }
    input.onStep?.(start + count, total);
  }
  return out;
}

/** The largest value, NaNs left out (NaN when all are). */
export function nanMax(values: ArrayLike<number>): number {
  let m = NaN;
  for (let i = 0; i < values.length; i++)
    if (Number.isNaN(m) || values[i] > m) m = Number.isNaN(values[i]) ? m : values[i];
  return m;
}

/** The mean, NaNs left out (NaN when all are). */
export function nanMean(values: ArrayLike<number>): number {
  let s = 0;
  let k = 0;
  for (let i = 0; i < values.length; i++)
    if (!Number.isNaN(values[i])) {
      s += values[i];
      k++;
    }
  return k ? s / k : NaN;
}
