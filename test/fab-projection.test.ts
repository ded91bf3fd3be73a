import assert from 'node:assert/strict';
import { test } from 'node:test';
import { projectOntoHyperplane } from '../src/methods/adversarial/fab-projection.js';
import { Random } from '../src/methods/random.js';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

// min ‖d‖ s.t. w·d = c, 0 ≤ t + d ≤ 255 is convex; its optimality (KKT) conditions say every coordinate moves towards
// the plane by the same amount λ (L∞) or in proportion to |w_i| (L2: d_i = μ·w_i), except those stopped by the box.
test('FAB projection: on the hyperplane inside [0, 255], and optimal by the KKT conditions in L∞ and L2', () => {
  const rng = new Random(7);
  let reached = 0;
  for (let trial = 0; trial < 60; trial++) {
    const n = 20 + trial;
    // Points near the box's edges, so that many coordinates run out of room.
    const t = Float32Array.from({ length: n }, () =>
      rng.next() < 0.3 ? 255 * Math.round(rng.next()) : 255 * rng.next(),
    );
    const w = Float32Array.from({ length: n }, () => (rng.next() < 0.1 ? 0 : rng.normal()));
    const c = (rng.next() - 0.5) * 40 * trial;
    const sign = Math.sign(c);
    for (const norm of ['linf', 'l2'] as const) {
      const d = projectOntoHyperplane(t, w, c, norm);
      const room = (i: number) => (sign * w[i] > 0 ? 255 - t[i] : t[i]);
      const onPlane = Math.abs(dot(w, d) - c) < 1e-3 * Math.max(1, Math.abs(c));
      // Each coordinate's move measured in the common unit: λ for L∞, μ = d_i / w_i for L2.
      const scale = (i: number) => (norm === 'linf' ? 1 : Math.abs(w[i]));
      let common = -1;
      for (let i = 0; i < n; i++) {
        assert.ok(t[i] + d[i] >= -1e-3 && t[i] + d[i] <= 255 + 1e-3, `inside the box (${norm})`);
        if (w[i] === 0) {
          assert.equal(d[i], 0);
          continue;
        }
        if (d[i] !== 0) assert.equal(Math.sign(d[i]), sign * Math.sign(w[i]), 'moves towards the plane');
        const free = Math.abs(d[i]) < room(i) - 1e-3;
        if (free && onPlane) {
          const m = Math.abs(d[i]) / scale(i);
          if (common < 0) common = m;
          assert.ok(
            Math.abs(m - common) <= 1e-4 * Math.max(1, common),
            `${norm}: unequal moves ${m} vs ${common}`,
          );
        }
        if (!onPlane) assert.ok(!free, `${norm}: out of reach, yet coordinate ${i} kept room`);
      }
      if (onPlane) {
        reached++;
        // Coordinates stopped by the box had less room than the common move asks for.
        for (let i = 0; i < n; i++)
          if (w[i] !== 0 && Math.abs(d[i]) >= room(i) - 1e-3 && common >= 0)
            assert.ok(room(i) <= common * scale(i) + 1e-3, `${norm}: coordinate ${i} stopped early`);
      }
    }
  }
  assert.ok(reached > 60, `only ${reached} of 120 cases reached the plane: too few to test optimality`);
});

test('FAB projection: in L2 away from the box it is the orthogonal projection c·w/‖w‖²', () => {
  const w = Float32Array.from([3, -4, 0, 12]);
  const t = new Float32Array(4).fill(128);
  const d = projectOntoHyperplane(t, w, 13, 'l2');
  const expected = [3, -4, 0, 12].map((v) => (13 * v) / 169);
  d.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `${v} vs ${expected[i]}`));
});
