import type { BudgetNorm } from './budgeted.js';

// Working arrays of the projection, kept between calls (FAB projects twice per step, 150 528 values for 224×224).
let scratchA = new Float64Array(0);
let scratchB = new Float64Array(0);

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
  const linf = norm === 'linf';
  // In λ: coordinate i contributes a_i·min(λ, b_i), with a_i = |w_i|·v_i and b_i = m_i / v_i (0 where w_i = 0).
  if (scratchA.length < n) [scratchA, scratchB] = [new Float64Array(n), new Float64Array(n)];
  const a = scratchA;
  const b = scratchB;
  let total = 0;
  let reach = 0;
  // Each coordinate's direction s_i = sign(sign·w_i) (0 where w_i = 0) is computed as arithmetic rather than with a
  // branch: the signs of a gradient are close to random, and a mispredicted branch per value tripled these loops' time.
  for (let i = 0; i < n; i++) {
    const wi = w[i];
    const x = sign * wi;
    // 255 − t_i going up, t_i going down (both exact in float64).
    const room = 127.5 + (127.5 - t[i]) * (Number(x > 0) - Number(x < 0));
    const abs = Math.abs(wi);
    const v = linf ? 1 : abs;
    const ai = abs * v;
    const bi = wi === 0 ? 0 : room / v;
    a[i] = ai;
    b[i] = bi;
    total += ai;
    reach += ai * bi;
  }
  let lambda: number;
  if (reach <= target) lambda = Infinity;
  else {
    lambda = target / total;
    for (let it = 0; it < 100; it++) {
      let value = 0;
      let slope = 0;
      for (let i = 0; i < n; i++) {
        const ai = a[i];
        const bi = b[i];
        if (bi > lambda) {
          value += ai * lambda;
          slope += ai;
        } else value += ai * bi;
      }
      if (value >= target * (1 - 1e-12) || slope === 0) break;
      lambda += (target - value) / slope;
    }
  }
  // Where w_i = 0, s_i = 0 and b_i = 0, so d_i stays 0.
  for (let i = 0; i < n; i++) {
    const x = sign * w[i];
    d[i] = (Number(x > 0) - Number(x < 0)) * (linf ? 1 : Math.abs(w[i])) * Math.min(lambda, b[i]);
  }
  return d;
}
