import { gaussianBlur } from '../../image/filters.js';

/** Weights of penalties on the RGB image in [0, 1], subtracted from the objective; each default 0 (off). */
export interface RegularizerWeights {
  /** λ · ‖x − 0.5‖₂ per image (Lucid's `L2` about mid-grey). */
  l2?: number;
  /** λ · Σ |x(i+1, j) − x(i, j)| + |x(i, j+1) − x(i, j)| per image (Lucid's `total_variation`). */
  tv?: number;
  /** λ · ½‖x − blur(x)‖² per image with the blurred copy held fixed (Lucid's `blur_input_each_step`, Gaussian σ 1 px). */
  blur?: number;
}

/**
 * Subtracts the gradients of the weighted penalties of N×3×S×S images `rgb` from `grad` (in place) and returns
 * each image's total penalty.
 */
export function applyRegularizers(
  rgb: Float32Array,
  grad: Float32Array,
  n: number,
  size: number,
  { l2 = 0, tv = 0, blur = 0 }: RegularizerWeights,
): number[] {
  const per = 3 * size * size;
  const penalty = new Array<number>(n).fill(0);
  if (l2 > 0) {
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let i = r * per; i < (r + 1) * per; i++) s += (rgb[i] - 0.5) ** 2;
      const norm = Math.sqrt(s + 1e-6);
      penalty[r] += l2 * norm;
      for (let i = r * per; i < (r + 1) * per; i++) grad[i] -= (l2 * (rgb[i] - 0.5)) / norm;
    }
  }
  if (tv > 0) {
    for (let p = 0; p < 3 * n; p++) {
      const base = p * size * size;
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const i = base + y * size + x;
          // Each neighbour difference d = x[next] − x[i] adds λ·sign(d) to x[i]'s penalty slope and λ·sign(d) downhill at next.
          for (const next of [x + 1 < size ? i + 1 : -1, y + 1 < size ? i + size : -1]) {
            if (next < 0) continue;
            const d = rgb[next] - rgb[i];
            penalty[Math.floor(p / 3)] += tv * Math.abs(d);
            const s = Math.sign(d) * tv;
            grad[next] -= s;
            grad[i] += s;
          }
        }
    }
  }
  if (blur > 0) {
    const blurred = gaussianBlur({ data: rgb, dims: [n, 3, size, size] }, 1).data;
    for (let r = 0; r < n; r++)
      for (let i = r * per; i < (r + 1) * per; i++) {
        const d = rgb[i] - blurred[i];
        penalty[r] += 0.5 * blur * d * d;
        grad[i] -= blur * d;
      }
  }
  return penalty;
}
