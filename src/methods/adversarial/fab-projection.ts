import type { BudgetNorm } from './budgeted.js';

/**
 * The smallest change `d` (in L∞ or L2) that moves the point `t` (pixel values in [0, 255]) onto the hyperplane
 * w·(t + d) = w·t + c while keeping t + d in [0, 255]: FAB's projection (Croce & Hein 2020, "Minimally distorted
 * adversarial examples with a fast adaptive boundary attack", eq. 5-6). When no point of the box reaches the plane,
 * the box's corner nearest to it. Solved exactly: d_i = s_i·min(λ·v_i, m_i) with s_i the direction that moves w·d
 * towards c, m_i the room to the box in that direction, v_i = 1 (L∞) or |w_i| (L2), and the scalar λ ≥ 0 found by
 * Newton's method on the concave, piecewise linear Σ|w_i|·min(λ·v_i, m_i) = |c|, which never overshoots.
 */
export function projectOntoHyperplane(
  t: Float32Array,
  w: Float32Array,
  c: number,
  norm: BudgetNorm,
): Float32Array {
  const n = t.length;
  const d = new Float32Array(n);
  if (c === 0 || !Number.isFinite(c)) return d;
  const sign = Math.sign(c);
  const target = Math.abs(c);
  // In λ: coordinate i contributes a_i·min(λ, b_i), with a_i = |w_i|·v_i and b_i = m_i / v_i.
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  let total = 0;
  let reach = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i];
    if (wi === 0) continue;
    const room = sign * wi > 0 ? 255 - t[i] : t[i];
    const v = norm === 'linf' ? 1 : Math.abs(wi);
    a[i] = Math.abs(wi) * v;
    b[i] = room / v;
    total += a[i];
    reach += a[i] * b[i];
  }
  let lambda: number;
  if (reach <= target) lambda = Infinity;
  else {
    lambda = target / total;
    for (let it = 0; it < 100; it++) {
      let value = 0;
      let slope = 0;
      for (let i = 0; i < n; i++) {
        if (b[i] > lambda) {
          value += a[i] * lambda;
          slope += a[i];
        } else value += a[i] * b[i];
      }
      if (value >= target * (1 - 1e-12) || slope === 0) break;
      lambda += (target - value) / slope;
    }
  }
  for (let i = 0; i < n; i++) {
    if (a[i] === 0) continue;
    const v = norm === 'linf' ? 1 : Math.abs(w[i]);
    d[i] = Math.sign(sign * w[i]) * v * Math.min(lambda, b[i]);
  }
  return d;
}
