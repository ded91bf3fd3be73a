// What KernelSHAP and LIME share: features, scores of an image with features switched off, weighted linear fits.
import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { OptionError } from '../common.js';
import { Random } from '../random.js';
import { featureMasks, type FeatureMask } from './feature-masks.js';
import { resolveTargets, type AttributionOptions, type AttributionResult, type Target } from './support.js';

/** Options of the surrogate-model methods (KernelSHAP, LIME). */
export interface SurrogateOptions extends AttributionOptions {
  /** Model runs per image, including KernelSHAP's two end points; default 500. */
  samples?: number;
  /** Features: 1×H×W or N×H×W integer labels; default SLIC superpixels as scikit-image makes them (`featureMasks`). */
  featureMask?: Tensor;
  /** Value a switched-off feature's pixels take, in normalised units; default 0 (the mean colour). */
  baseline?: number;
  /** Seed of the samples; default 0. Each image draws its own stream from it. */
  seed?: number;
}

/** Attributions per feature, painted on the features' pixels. */
export interface SurrogateResult extends AttributionResult {
  /** N×H×W: each pixel carries its feature's coefficient. */
  maps: Tensor;
  /** Number of features per image. */
  features: number[];
  /** Per image: the linear model's intercept. */
  intercepts: number[];
}

/** One image as a surrogate method sees it. */
export interface SurrogateImage {
  /** Its pixels, 3×H×W, normalised. */
  x: Float32Array;
  mask: FeatureMask;
  /** Its own seeded stream. */
  random: Random;
  /** The target's logit for each coalition (rows of count × features, 1 = kept): model runs in batches. */
  score(z: Uint8Array): Promise<Float64Array>;
}

/**
 * Runs a surrogate-model method image by image: `fit` draws the coalitions of one image's features and fits a linear
 * model to their scores; each pixel gets its feature's coefficient. `samples` (default 500, at least `minSamples`)
 * coalitions per image, in batches of `batchSize` (default 50); `onStep` counts them. Throws an OptionError for fewer
 * samples.
 */
export async function surrogateMaps(
  classifier: Classifier,
  images: Tensor,
  target: Target,
  method: string,
  minSamples: number,
  { samples = 500, featureMask, baseline = 0, seed = 0, batchSize = 50, onStep, signal }: SurrogateOptions,
  fit: (image: SurrogateImage, samples: number) => Promise<LinearFit>,
): Promise<SurrogateResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, method);
  if (!(Number.isInteger(samples) && samples >= minSamples))
    throw new OptionError(`${method}: samples ${samples}, expected an integer ≥ ${minSamples}`);
  const masks = featureMasks(images, classifier.preprocessing, featureMask);
  const [n, c, h, w] = images.dims;
  const pixels = h * w;
  const maps = new Float32Array(n * pixels);
  const result: SurrogateResult = {
    maps: { data: maps, dims: [n, h, w] },
    labels,
    scores,
    features: [],
    intercepts: [],
  };
  for (let i = 0; i < n; i++) {
    const mask = masks[i];
    const x = images.data.subarray(i * c * pixels, (i + 1) * c * pixels);
    const score = (z: Uint8Array) =>
      switchedScores(classifier, x, [c, h, w], mask, labels[i], z, baseline, batchSize, {
        signal,
        progress: (rows) => onStep?.(i * samples + rows, n * samples),
      });
    const model = await fit({ x, mask, random: new Random(seed + i), score }, samples);
    for (let p = 0; p < pixels; p++) maps[i * pixels + p] = model.coef[mask.labels[p]];
    result.features.push(mask.count);
    result.intercepts.push(model.intercept);
  }
  return result;
}

/**
 * The target's logit for each row of `samples` (count × features, 1 = the feature keeps the image's pixels, 0 = they
 * take `baseline`, in normalised units), for one image `x` (3×H×W) and its `mask`; rows run in batches of `batchSize`.
 * `progress` is called with the rows done after each batch.
 */
async function switchedScores(
  classifier: Classifier,
  x: Float32Array,
  dims: number[],
  mask: FeatureMask,
  label: number,
  samples: Uint8Array,
  baseline: number,
  batchSize: number,
  { progress, signal }: { progress?: (rows: number) => void; signal?: AbortSignal },
): Promise<Float64Array> {
  const [c, h, w] = dims;
  const pixels = h * w;
  const per = c * pixels;
  const m = mask.count;
  const count = samples.length / m;
  const scores = new Float64Array(count);
  const batch = new Float32Array(Math.min(batchSize, count) * per);
  for (let start = 0; start < count; start += batchSize) {
    signal?.throwIfAborted();
    const rows = Math.min(batchSize, count - start);
    for (let r = 0; r < rows; r++) {
      const z = samples.subarray((start + r) * m, (start + r + 1) * m);
      for (let ch = 0; ch < c; ch++) {
        const out = r * per + ch * pixels;
        for (let p = 0; p < pixels; p++) batch[out + p] = z[mask.labels[p]] ? x[ch * pixels + p] : baseline;
      }
    }
    const logits = await classifier.logits({ data: batch.subarray(0, rows * per), dims: [rows, c, h, w] });
    const classes = logits.dims[1];
    for (let r = 0; r < rows; r++) scores[start + r] = logits.data[r * classes + label];
    progress?.(start + rows);
  }
  return scores;
}

/** A linear model y ≈ intercept + Σ_j coef_j z_j. */
export interface LinearFit {
  coef: Float64Array;
  intercept: number;
}

/**
 * Weighted least squares with an intercept (scikit-learn's `LinearRegression` with `sample_weight`): minimises
 * Σ_i w_i (y_i − b − z_i·β)² over rows z_i of `z` (count × m) by Householder QR of the √w-scaled design. A column that
 * is a linear combination of earlier ones (too few or repeated samples) gets coefficient 0.
 */
export function weightedLeastSquares(
  z: Uint8Array,
  y: Float64Array,
  weights: Float64Array,
  m: number,
): LinearFit {
  const n = y.length;
  const cols = m + 1;
  // Column-major design [1, z] and target, rows scaled by √w.
  const a = new Float64Array(n * cols);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = Math.sqrt(weights[i]);
    a[i] = s;
    for (let j = 0; j < m; j++) a[(j + 1) * n + i] = s * z[i * m + j];
    t[i] = s * y[i];
  }
  const diag = new Float64Array(cols);
  const kept: boolean[] = [];
  let scale = 0;
  for (let j = 0; j < cols; j++) {
    const col = a.subarray(j * n, (j + 1) * n);
    let norm = 0;
    for (let i = j; i < n; i++) norm += col[i] * col[i];
    norm = Math.sqrt(norm);
    scale = Math.max(scale, norm);
    kept.push(j < n && norm > 1e-10 * scale);
    if (!kept[j]) continue;
    const alpha = col[j] > 0 ? -norm : norm;
    col[j] -= alpha; // v = col − α e_j, reflector H = I − 2vvᵀ/vᵀv
    let vv = 0;
    for (let i = j; i < n; i++) vv += col[i] * col[i];
    for (let k = j + 1; k < cols; k++) {
      const other = a.subarray(k * n, (k + 1) * n);
      let d = 0;
      for (let i = j; i < n; i++) d += col[i] * other[i];
      const f = (2 * d) / vv;
      for (let i = j; i < n; i++) other[i] -= f * col[i];
    }
    let d = 0;
    for (let i = j; i < n; i++) d += col[i] * t[i];
    const f = (2 * d) / vv;
    for (let i = j; i < n; i++) t[i] -= f * col[i];
    diag[j] = alpha;
  }
  // Back substitution on R (upper triangle above the reflectors, diagonal in `diag`).
  const beta = new Float64Array(cols);
  for (let j = cols - 1; j >= 0; j--) {
    if (!kept[j]) continue;
    let s = t[j];
    for (let k = j + 1; k < cols; k++) s -= a[k * n + j] * beta[k];
    beta[j] = s / diag[j];
  }
  return { coef: beta.slice(1), intercept: beta[0] };
}

/**
 * The Lasso with an intercept and sample weights, as scikit-learn's `Lasso(alpha).fit(z, y, sample_weight=w)`:
 * minimises (1 / 2Σw) Σ_i w_i (y_i − b − z_i·β)² + α‖β‖₁ (weighted centring for the intercept, cyclic coordinate
 * descent until no coefficient moves by more than 1e-10 of the largest, at most 10 000 sweeps).
 */
export function weightedLasso(
  z: Uint8Array,
  y: Float64Array,
  weights: Float64Array,
  m: number,
  alpha: number,
): LinearFit {
  const n = y.length;
  let wsum = 0;
  for (const w of weights) wsum += w;
  const zMean = new Float64Array(m);
  let yMean = 0;
  for (let i = 0; i < n; i++) {
    yMean += weights[i] * y[i];
    for (let j = 0; j < m; j++) zMean[j] += weights[i] * z[i * m + j];
  }
  yMean /= wsum;
  for (let j = 0; j < m; j++) zMean[j] /= wsum;
  const xc = new Float64Array(n * m); // column-major, centred
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = y[i] - yMean;
  const norm2 = new Float64Array(m);
  for (let j = 0; j < m; j++)
    for (let i = 0; i < n; i++) {
      const v = z[i * m + j] - zMean[j];
      xc[j * n + i] = v;
      norm2[j] += (weights[i] * v * v) / wsum;
    }
  const beta = new Float64Array(m);
  for (let sweep = 0; sweep < 10000; sweep++) {
    let moved = 0;
    let largest = 0;
    for (let j = 0; j < m; j++) {
      if (norm2[j] === 0) continue;
      const col = xc.subarray(j * n, (j + 1) * n);
      let rho = 0;
      for (let i = 0; i < n; i++) rho += weights[i] * col[i] * r[i];
      rho = rho / wsum + norm2[j] * beta[j];
      const next = (Math.sign(rho) * Math.max(0, Math.abs(rho) - alpha)) / norm2[j];
      const delta = next - beta[j];
      if (delta !== 0) for (let i = 0; i < n; i++) r[i] -= delta * col[i];
      beta[j] = next;
      moved = Math.max(moved, Math.abs(delta));
      largest = Math.max(largest, Math.abs(next));
    }
    if (moved <= 1e-10 * Math.max(largest, 1e-12)) break;
  }
  let intercept = yMean;
  for (let j = 0; j < m; j++) intercept -= zMean[j] * beta[j];
  return { coef: beta, intercept };
}
