import type { Classifier } from '../../model/classifier.js';
import { Random } from '../random.js';
import type { Tensor } from '../../tensor.js';
import { classActivationMaps, type CamImage, type CamOptions, type CamResult } from './cam.js';
import type { Target } from './support.js';

// The unit eigenvector of the largest eigenvalue of a symmetric positive semi-definite n×n matrix, and that eigenvalue,
// by power iteration from a seeded random start (a fixed start vector can be orthogonal to the answer: centred data's
// Gram matrix has the all-ones vector in its null space). Stops when the vector moves less than 1e-12.
function topEigenpair(m: Float64Array, n: number): { vector: Float64Array; value: number } {
  const random = new Random(1);
  let v = Float64Array.from({ length: n }, () => random.next() - 0.5);
  let value = 0;
  for (let iter = 0; iter < 20000; iter++) {
    const w = new Float64Array(n);
    let sq = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += m[i * n + j] * v[j];
      w[i] = s;
      sq += s * s;
    }
    const norm = Math.sqrt(sq);
    if (norm === 0) return { vector: w, value: 0 };
    let moved = 0;
    for (let i = 0; i < n; i++) {
      w[i] /= norm;
      moved = Math.max(moved, Math.abs(w[i] - v[i]));
    }
    v = w;
    value = norm;
    if (moved < 1e-12) break;
  }
  return { vector: v, value };
}

/**
 * The h·w positions of a C×h×w stack projected on its first principal component: X (positions × channels, each
 * channel centred over the positions) times X's first right-singular vector v₁, i.e. σ₁u₁ (pytorch-grad-cam's
 * `get_2d_projection`). The SVD leaves the sign open; it is chosen so that the largest magnitude is positive (the
 * sign correction of Seg-Eigen-CAM, Chung & Ying 2025, Eq. 13). Computed from the smaller of the positions' Gram
 * matrix and the channels' covariance, in float64.
 */
export function firstPrincipalProjection(
  x: ArrayLike<number>,
  channels: number,
  plane: number,
): Float64Array {
  const xc = new Float64Array(channels * plane);
  for (let k = 0; k < channels; k++) {
    let mean = 0;
    for (let p = 0; p < plane; p++) mean += x[k * plane + p];
    mean /= plane;
    for (let p = 0; p < plane; p++) xc[k * plane + p] = x[k * plane + p] - mean;
  }
  const projection = new Float64Array(plane);
  if (plane <= channels) {
    // Gram matrix XXᵀ (positions × positions): Xv₁ = σ₁u₁ with u₁ its top eigenvector and σ₁² its eigenvalue.
    const gram = new Float64Array(plane * plane);
    for (let k = 0; k < channels; k++) {
      const row = xc.subarray(k * plane, (k + 1) * plane);
      for (let p = 0; p < plane; p++) {
        const rp = row[p];
        if (rp === 0) continue;
        for (let q = 0; q < plane; q++) gram[p * plane + q] += rp * row[q];
      }
    }
    const { vector, value } = topEigenpair(gram, plane);
    const sigma = Math.sqrt(value);
    for (let p = 0; p < plane; p++) projection[p] = sigma * vector[p];
  } else {
    // Covariance XᵀX (channels × channels): v₁ is its top eigenvector.
    const cov = new Float64Array(channels * channels);
    for (let k = 0; k < channels; k++)
      for (let l = k; l < channels; l++) {
        let s = 0;
        for (let p = 0; p < plane; p++) s += xc[k * plane + p] * xc[l * plane + p];
        cov[k * channels + l] = cov[l * channels + k] = s;
      }
    const { vector } = topEigenpair(cov, channels);
    for (let k = 0; k < channels; k++)
      for (let p = 0; p < plane; p++) projection[p] += xc[k * plane + p] * vector[k];
  }
  let lo = 0;
  let hi = 0;
  for (const v of projection) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (-lo > hi) for (let p = 0; p < plane; p++) projection[p] = -projection[p];
  return projection;
}

const activationProjection: CamImage = {
  map: ({ a, channels, plane }) => firstPrincipalProjection(a, channels, plane),
};

/**
 * Eigen-CAM (Muhammad & Yeasin 2020): ReLU of the layer's activations projected on their first principal component
 * (`firstPrincipalProjection`), at `layer` (default as Grad-CAM's), upsampled bilinearly; N×H×W, non-negative.
 * Class-independent: no gradient enters, `target` only sets the reported labels (default the predicted class). Images
 * run in batches of `batchSize` (default 16).
 */
export function eigenCam(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  options: CamOptions = {},
): Promise<CamResult> {
  return classActivationMaps(classifier, images, target, activationProjection, 'eigenCam', options);
}
