// ROAD's noisy linear imputation, with a direct solver for its sparse system on the pixel grid.
import type { Random } from '../random.js';

// Neighbours of a pixel (row offset, column offset) and their weights (Rong et al. 2022, eq. 7).
const NEIGHBOURS: [number, number, number][] = [
  [1, 1, 1 / 12],
  [0, 1, 1 / 6],
  [-1, 1, 1 / 12],
  [1, -1, 1 / 12],
  [0, -1, 1 / 6],
  [-1, -1, 1 / 12],
  [1, 0, 1 / 6],
  [-1, 0, 1 / 6],
];

/**
 * A fill-reducing order of the pixels marked in `unknown` (h×w): nested dissection of the grid, each rectangle split
 * across its longer side by a line of pixels (which separates the halves for 8-neighbour links) that comes last.
 */
function nestedDissection(unknown: Uint8Array, h: number, w: number): Int32Array {
  const order: number[] = [];
  const emit = (y0: number, y1: number, x0: number, x1: number) => {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (unknown[y * w + x]) order.push(y * w + x);
  };
  const split = (y0: number, y1: number, x0: number, x1: number): void => {
    if ((y1 - y0) * (x1 - x0) <= 16) return emit(y0, y1, x0, x1);
    if (y1 - y0 >= x1 - x0) {
      const mid = (y0 + y1) >> 1;
      split(y0, mid, x0, x1);
      split(mid + 1, y1, x0, x1);
      emit(mid, mid + 1, x0, x1);
    } else {
      const mid = (x0 + x1) >> 1;
      split(y0, y1, x0, mid);
      split(y0, y1, mid + 1, x1);
      emit(y0, y1, mid, mid + 1);
    }
  };
  split(0, h, 0, w);
  return Int32Array.from(order);
}

/**
 * Cholesky factor L (column-compressed, diagonal first in each column) of a symmetric positive-definite matrix given
 * by its upper triangle in columns (`colStart`, `rows` with rows ≤ column, `values`): the up-looking algorithm of
 * Davis, "Direct methods for sparse linear systems" (2006), with its elimination tree and row patterns.
 */
function cholesky(
  n: number,
  colStart: Int32Array,
  rows: Int32Array,
  values: Float64Array,
): { start: Int32Array; index: Int32Array; value: Float64Array } {
  const parent = new Int32Array(n).fill(-1);
  const ancestor = new Int32Array(n).fill(-1);
  for (let k = 0; k < n; k++)
    for (let p = colStart[k]; p < colStart[k + 1]; p++)
      for (let i = rows[p]; i !== -1 && i < k;) {
        const next = ancestor[i];
        ancestor[i] = k;
        if (next === -1) parent[i] = k;
        i = next;
      }
  const mark = new Int32Array(n).fill(-1);
  const stack = new Int32Array(n);
  // Row k's pattern in L (the etree paths from A's column k up to k), into stack[top..n), in topological order.
  const reach = (k: number): number => {
    let top = n;
    mark[k] = k;
    for (let p = colStart[k]; p < colStart[k + 1]; p++) {
      let len = 0;
      for (let i = rows[p]; mark[i] !== k; i = parent[i]) {
        stack[len++] = i;
        mark[i] = k;
      }
      while (len > 0) stack[--top] = stack[--len];
    }
    return top;
  };
  const count = new Int32Array(n).fill(1);
  for (let k = 0; k < n; k++) for (let t = reach(k); t < n; t++) count[stack[t]]++;
  const start = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) start[k + 1] = start[k] + count[k];
  const index = new Int32Array(start[n]);
  const value = new Float64Array(start[n]);
  const next = start.slice(0, n);
  const x = new Float64Array(n);
  mark.fill(-1);
  for (let k = 0; k < n; k++) {
    for (let p = colStart[k]; p < colStart[k + 1]; p++) x[rows[p]] = values[p];
    let d = x[k];
    x[k] = 0;
    for (let t = reach(k); t < n; t++) {
      const i = stack[t];
      const lki = x[i] / value[start[i]];
      x[i] = 0;
      for (let p = start[i] + 1; p < next[i]; p++) x[index[p]] -= value[p] * lki;
      d -= lki * lki;
      const p = next[i]++;
      index[p] = k;
      value[p] = lki;
    }
    if (!(d > 0)) throw new Error('noisy linear imputation: the system is not positive definite');
    const p = next[k]++;
    index[p] = k;
    value[p] = Math.sqrt(d);
  }
  return { start, index, value };
}

/**
 * Noisy linear imputation (Rong et al. 2022, "A consistent and efficient evaluation strategy for attribution
 * methods"): the pixels `indices` (of an h×w plane) of a C×h×w image are replaced, in every channel, by the values
 * that make each the weighted mean of its 8 neighbours (1/6 for the 4 direct, 1/12 for the diagonal ones; neighbours
 * outside the image left out), plus Gaussian noise of standard deviation `noise`. The sparse symmetric
 * positive-definite system (one per channel, one matrix) is solved exactly, by a Cholesky factorisation in nested
 * dissection order: about 0.5 s for 99% of a 224×224 image. Throws when every pixel is to be imputed (nothing to
 * impute from). Returns a new image.
 */
export function noisyLinearImputation(
  x: Float32Array,
  channels: number,
  h: number,
  w: number,
  indices: ArrayLike<number>,
  noise: number,
  random: Random,
): Float32Array {
  const plane = h * w;
  const unknown = new Uint8Array(plane);
  for (let k = 0; k < indices.length; k++) unknown[indices[k]] = 1;
  const order = nestedDissection(unknown, h, w);
  const n = order.length;
  const out = x.slice();
  if (n === 0) return out;
  if (n === plane) throw new RangeError('noisy linear imputation: every pixel is to be imputed');
  const position = new Int32Array(plane).fill(-1);
  order.forEach((p, k) => (position[p] = k));
  // Row k: diagonal·v_k − Σ weight·v_j over unknown neighbours j = Σ weight·x_j over the known ones.
  const colStart = new Int32Array(n + 1);
  const rows = new Int32Array(9 * n);
  const values = new Float64Array(9 * n);
  const knownStart = new Int32Array(n + 1);
  const knownPixel = new Int32Array(8 * n);
  const knownWeight = new Float64Array(8 * n);
  let entries = 0;
  let links = 0;
  for (let k = 0; k < n; k++) {
    const y = Math.floor(order[k] / w);
    const xx = order[k] % w;
    let diagonal = 0;
    for (const [dy, dx, weight] of NEIGHBOURS) {
      const yy = y + dy;
      const xc = xx + dx;
      if (yy < 0 || yy >= h || xc < 0 || xc >= w) continue;
      diagonal += weight;
      const j = position[yy * w + xc];
      if (j < 0) {
        knownPixel[links] = yy * w + xc;
        knownWeight[links++] = weight;
      } else if (j < k) {
        rows[entries] = j;
        values[entries++] = -weight;
      }
    }
    rows[entries] = k;
    values[entries++] = diagonal;
    colStart[k + 1] = entries;
    knownStart[k + 1] = links;
  }
  const L = cholesky(n, colStart, rows, values);
  const v = new Float64Array(n);
  for (let c = 0; c < channels; c++) {
    const image = x.subarray(c * plane, (c + 1) * plane);
    for (let k = 0; k < n; k++) {
      let b = 0;
      for (let q = knownStart[k]; q < knownStart[k + 1]; q++) b += knownWeight[q] * image[knownPixel[q]];
      v[k] = b;
    }
    for (let j = 0; j < n; j++) {
      v[j] /= L.value[L.start[j]];
      for (let p = L.start[j] + 1; p < L.start[j + 1]; p++) v[L.index[p]] -= L.value[p] * v[j];
    }
    for (let j = n - 1; j >= 0; j--) {
      for (let p = L.start[j] + 1; p < L.start[j + 1]; p++) v[j] -= L.value[p] * v[L.index[p]];
      v[j] /= L.value[L.start[j]];
    }
    for (let k = 0; k < n; k++) out[c * plane + order[k]] = v[k] + (noise ? noise * random.normal() : 0);
  }
  return out;
}
