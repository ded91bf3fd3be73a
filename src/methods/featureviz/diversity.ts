import type { Tensor } from '../../tensor.js';

/**
 * Lucid's `diversity` of a batch's activations A (N×C×H×W): with Ĝᵢ the Gram matrix AᵢAᵢᵀ (C×C) of image i scaled
 * to unit Frobenius norm, `D = (1/N) Σᵢ Σ_{j≠i} ⟨Ĝᵢ, Ĝⱼ⟩` (how alike the images' styles are; lower is more diverse),
 * and its gradient ∂D/∂A.
 */
export function gramDiversity(acts: Tensor): { value: number; grad: Float32Array } {
  const [n, c, h, w] = acts.dims;
  const hw = h * w;
  const per = c * hw;
  const grams = Array.from({ length: n }, (_, i) => {
    const a = acts.data.subarray(i * per, (i + 1) * per);
    const g = new Float64Array(c * c);
    for (let p = 0; p < c; p++)
      for (let q = p; q < c; q++) {
        let s = 0;
        for (let k = 0; k < hw; k++) s += a[p * hw + k] * a[q * hw + k];
        g[p * c + q] = s;
        g[q * c + p] = s;
      }
    let norm = 0;
    for (const v of g) norm += v * v;
    norm = Math.sqrt(Math.max(norm, 1e-10));
    return { unit: g.map((v) => v / norm), norm };
  });
  const sum = new Float64Array(c * c);
  for (const g of grams) for (let k = 0; k < sum.length; k++) sum[k] += g.unit[k];
  let value = 0;
  const grad = new Float32Array(acts.data.length);
  grams.forEach((gi, i) => {
    // Q = ∂D/∂Ĝᵢ = (2/N) Σ_{j≠i} Ĝⱼ (each pair appears as (i, j) and (j, i)).
    const q = sum.map((v, k) => ((v - gi.unit[k]) * 2) / n);
    let dot = 0;
    for (let k = 0; k < q.length; k++) dot += q[k] * gi.unit[k];
    value += dot / 2;
    // Through the normalisation: P = (Q − ⟨Q, Ĝ⟩Ĝ)/‖G‖ (symmetric), then G = AAᵀ: ∂D/∂A = 2PA.
    const p = q.map((v, k) => (v - dot * gi.unit[k]) / gi.norm);
    const a = acts.data.subarray(i * per, (i + 1) * per);
    const out = grad.subarray(i * per, (i + 1) * per);
    for (let r = 0; r < c; r++)
      for (let s = 0; s < c; s++) {
        const coef = 2 * p[r * c + s];
        if (coef === 0) continue;
        for (let k = 0; k < hw; k++) out[r * hw + k] += coef * a[s * hw + k];
      }
  });
  return { value, grad };
}
