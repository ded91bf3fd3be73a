import { gaussianBlur } from '../../image/filters.js';
import type { Classifier } from '../../model/classifier.js';
import { sliceBatch, type Tensor } from '../../tensor.js';
import { Random } from '../random.js';
import {
  gradientsAt,
  resolveTargets,
  type AttributionOptions,
  type AttributionResult,
  type Target,
} from './support.js';

/** Where the path starts: a black image, the image blurred, uniform noise over valid pixels, or a given tensor. */
export type Baseline = 'black' | 'blur' | 'uniform' | Tensor;

/** How the path integral is approximated: the paper's right Riemann sum or Gauss-Legendre quadrature (Captum's default). */
export type IntegrationRule = 'riemann' | 'gauss-legendre';

/** Integrated Gradients' options. */
export interface IntegratedGradientsOptions extends AttributionOptions {
  /** Default 'black'. A tensor is 1×3×H×W (for every image) or N×3×H×W, in the model's normalised units. */
  baseline?: Baseline;
  /** Points on the path; default 50. */
  steps?: number;
  /** Default 'gauss-legendre'. */
  rule?: IntegrationRule;
  /** Blur of the 'blur' baseline, in pixels; default 10. */
  blurSigma?: number;
  /** Seed of the 'uniform' baseline; default 0. */
  seed?: number;
}

/** Integrated Gradients attributions and how well they add up. */
export interface IntegratedGradientsResult extends AttributionResult {
  /** N×3×H×W baselines used. */
  baselines: Tensor;
  /** Each baseline's logit for the label. */
  baselineScores: number[];
  /** Completeness gap per image: (Σ attributions − (f(x) − f(baseline))) / (f(x) − f(baseline)). */
  gaps: number[];
}

/** Points α in (0, 1] and weights (summing to 1) of an `m`-point rule on [0, 1]. */
export function integrationPoints(rule: IntegrationRule, m: number): { alphas: number[]; weights: number[] } {
  if (rule === 'riemann')
    return {
      alphas: Array.from({ length: m }, (_, k) => (k + 1) / m),
      weights: new Array<number>(m).fill(1 / m),
    };
  // Gauss-Legendre: roots of P_m by Newton's method from Chebyshev guesses, mapped from [-1, 1] to [0, 1].
  const alphas: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < m; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= m; k++) [p0, p1] = [p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k];
      dp = (m * (x * p1 - p0)) / (x * x - 1);
      const dx = p1 / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-15) break;
    }
    alphas.push((1 - x) / 2);
    weights.push(1 / ((1 - x * x) * dp * dp));
  }
  return { alphas, weights };
}

/**
 * N×3×H×W baselines for `images` in the model's normalised units: a black image, the image blurred (σ `sigma` px),
 * uniform noise (seeded), or a given 1×3×H×W (repeated) or N×3×H×W tensor. Errors name `method`.
 */
export function makeBaselines(
  classifier: Classifier,
  images: Tensor,
  baseline: Baseline,
  sigma: number,
  seed: number,
  method = 'integratedGradients',
): Tensor {
  const [n, c, h, w] = images.dims;
  const plane = h * w;
  const { mean, std } = classifier.preprocessing;
  if (typeof baseline === 'object') {
    const [bn, ...rest] = baseline.dims;
    if (rest.join() !== [c, h, w].join() || (bn !== 1 && bn !== n) || baseline.data.length !== bn * c * plane)
      throw new Error(`${method}: baseline dims [${baseline.dims}], expected [1 or ${n}, ${c}, ${h}, ${w}]`);
    if (bn === n) return baseline;
    const data = new Float32Array(images.data.length);
    for (let i = 0; i < n; i++) data.set(baseline.data, i * c * plane);
    return { data, dims: [...images.dims] };
  }
  if (baseline === 'blur') return gaussianBlur(images, sigma);
  if (baseline !== 'black' && baseline !== 'uniform')
    throw new RangeError(
      `${method}: baseline '${String(baseline)}', expected black, blur, uniform or a tensor`,
    );
  const data = new Float32Array(images.data.length);
  const random = new Random(seed);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * plane;
      for (let p = 0; p < plane; p++) {
        const pixel = baseline === 'black' ? 0 : random.next();
        data[base + p] = (pixel - mean[ch]) / std[ch];
      }
    }
  return { data, dims: [...images.dims] };
}

/**
 * Integrated Gradients (Sundararajan et al. 2017): `(x − x') ⊙ ∫₀¹ ∇f(x' + α(x − x')) dα` for the target's logit f,
 * N×3×H×W, signed, with the integral taken over `steps` (default 50) points by `rule` (default Gauss-Legendre) from
 * `baseline` x' (default black). Returns the completeness gap per image. Path points run in batches of `batchSize`
 * (default 5), so memory does not grow with `steps`.
 */
export async function integratedGradients(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  {
    baseline = 'black',
    steps = 50,
    rule = 'gauss-legendre',
    blurSigma = 10,
    seed = 0,
    batchSize = 5,
    onStep,
    signal,
  }: IntegratedGradientsOptions = {},
): Promise<IntegratedGradientsResult> {
  const { labels, scores } = await resolveTargets(
    classifier,
    images,
    target,
    batchSize,
    'integratedGradients',
  );
  if (!(Number.isInteger(steps) && steps > 0))
    throw new RangeError(`integratedGradients: steps ${steps}, expected a positive integer`);
  if (rule !== 'riemann' && rule !== 'gauss-legendre')
    throw new RangeError(
      `integratedGradients: rule '${String(rule)}', expected 'riemann' or 'gauss-legendre'`,
    );
  const baselines = makeBaselines(classifier, images, baseline, blurSigma, seed);
  const { alphas, weights } = integrationPoints(rule, steps);
  const n = images.dims[0];
  const per = images.data.length / n;
  const baselineScores: number[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const logits = await classifier.logits(sliceBatch(baselines, start, count));
    const k = logits.dims[1];
    for (let i = 0; i < count; i++) baselineScores.push(logits.data[i * k + labels[start + i]]);
  }
  const total = new Float64Array(images.data.length); // Σ_k w_k ∇f(point_k), per image
  await gradientsAt(
    classifier,
    images.dims,
    n * steps,
    (j, out) => {
      const i = Math.floor(j / steps);
      const a = alphas[j % steps];
      const x = images.data.subarray(i * per, (i + 1) * per);
      const b = baselines.data.subarray(i * per, (i + 1) * per);
      for (let p = 0; p < per; p++) out[p] = b[p] + a * (x[p] - b[p]);
      return labels[i];
    },
    (j, g) => {
      const base = Math.floor(j / steps) * per;
      const wk = weights[j % steps];
      for (let p = 0; p < per; p++) total[base + p] += wk * g[p];
    },
    { batchSize, onStep, signal },
  );
  const maps = new Float32Array(images.data.length);
  const gaps: number[] = [];
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let p = i * per; p < (i + 1) * per; p++) {
      maps[p] = (images.data[p] - baselines.data[p]) * total[p];
      sum += maps[p];
    }
    const delta = scores[i] - baselineScores[i];
    gaps.push((sum - delta) / delta);
  }
  return { maps: { data: maps, dims: [...images.dims] }, labels, scores, baselines, baselineScores, gaps };
}
