// SLIC superpixels as scikit-image computes them: IROF's segments (Quantus segments with skimage.segmentation.slic) and
// the default features of KernelSHAP and LIME.

/** Options of `slic`, with scikit-image's defaults. */
export interface SlicOptions {
  /** Approximate number of superpixels; default 100. */
  nSegments?: number;
  /** Balance of colour and space: higher makes squarer superpixels; default 10. */
  compactness?: number;
}

/** sRGB in [0, 1] to CIE L*a*b* (D65, 2° observer), as skimage.color.rgb2lab. */
function rgbToLab(r: number, g: number, b: number): [number, number, number] {
  const lin = (v: number) => (v > 0.04045 ? ((v + 0.055) / 1.055) ** 2.4 : v / 12.92);
  const [lr, lg, lb] = [lin(r), lin(g), lin(b)];
  const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  const fx = f((0.412453 * lr + 0.35758 * lg + 0.180423 * lb) / 0.95047);
  const fy = f(0.212671 * lr + 0.71516 * lg + 0.072169 * lb);
  const fz = f((0.019334 * lr + 0.119193 * lg + 0.950227 * lb) / 1.08883);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** numpy's round (half to even). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Start and step of a regular grid of about `count` points over a 1×h×w volume (skimage.util.regular_grid). */
function regularGrid(h: number, w: number, count: number): { start: number[]; step: number[] } {
  const shape = [1, h, w];
  if (h * w <= count) return { start: [0, 0, 0], step: [1, 1, 1] };
  const order = [0, 1, 2].sort((a, b) => shape[a] - shape[b] || a - b);
  const sorted = order.map((d) => shape[d]);
  const steps = [0, 1, 2].map(() => ((h * w) / count) ** (1 / 3));
  if (sorted.some((s, d) => s < steps[d]))
    for (let d = 0; d < 3; d++) {
      steps[d] = sorted[d];
      const rest = sorted.slice(d + 1).reduce((p, s) => p * s, 1);
      for (let e = d + 1; e < 3; e++) steps[e] = (rest / count) ** (1 / (2 - d));
      if (sorted.every((s, e) => s >= steps[e])) break;
    }
  const start = [0, 0, 0];
  const step = [0, 0, 0];
  order.forEach((dim, d) => {
    start[dim] = Math.floor(steps[d] / 2);
    step[dim] = roundHalfEven(steps[d]);
  });
  return { start, step };
}

/**
 * SLIC superpixels (Achanta et al. 2012, "SLIC superpixels compared to state-of-the-art superpixel methods") of an
 * image given as H×W×3 values (`image[(y·W + x)·3 + c]`, any range), as scikit-image 0.19's
 * `slic(image, start_label=0)` computes them: the image is rescaled to [0, 1] and converted to L*a*b*, centres start
 * on a regular grid (with colour 0), 10 rounds of k-means within 2 grid steps of each centre, then connected
 * components smaller than half a grid cell are merged into a neighbour. Returns a label per pixel, 0, 1, 2, …
 */
export function slic(image: ArrayLike<number>, h: number, w: number, options: SlicOptions = {}): Int32Array {
  const { nSegments = 100, compactness = 10 } = options;
  const plane = h * w;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < plane * 3; i++) {
    min = Math.min(min, image[i]);
    max = Math.max(max, image[i]);
  }
  const scale = max - min !== 0 ? max - min : 1;
  const ratio = 1 / compactness;
  const colour = new Float64Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    const lab = rgbToLab(
      (image[p * 3] - min) / scale,
      (image[p * 3 + 1] - min) / scale,
      (image[p * 3 + 2] - min) / scale,
    );
    for (let c = 0; c < 3; c++) colour[p * 3 + c] = lab[c] * ratio;
  }
  const grid = regularGrid(h, w, nSegments);
  // Centres: [y, x, L, a, b]; the depth axis of skimage's volume is 1 and drops out.
  const centres: number[][] = [];
  for (let y = grid.start[1]; y < h; y += grid.step[1])
    for (let x = grid.start[2]; x < w; x += grid.step[2]) centres.push([y, x, 0, 0, 0]);
  const k = centres.length;
  const spatialWeight = 1 / Math.max(...grid.step) ** 2;
  const window = regularGrid(h, w, k).step;
  const nearest = new Int32Array(plane).fill(-1);
  const distance = new Float64Array(plane);
  const alive = new Array<boolean>(k).fill(true);
  for (let iteration = 0; iteration < 10; iteration++) {
    let change = false;
    distance.fill(Number.MAX_VALUE);
    for (let s = 0; s < k; s++) {
      if (!alive[s]) continue;
      const [cy, cx, l, a, b] = centres[s];
      const y0 = Math.trunc(Math.max(cy - 2 * window[1], 0));
      const y1 = Math.trunc(Math.min(cy + 2 * window[1] + 1, h));
      const x0 = Math.trunc(Math.max(cx - 2 * window[2], 0));
      const x1 = Math.trunc(Math.min(cx + 2 * window[2] + 1, w));
      for (let y = y0; y < y1; y++) {
        const dy = (cy - y) ** 2;
        for (let x = x0; x < x1; x++) {
          const p = y * w + x;
          // Summed in skimage's order, so that near-ties fall the same way.
          const d =
            (dy + (cx - x) ** 2) * spatialWeight +
            ((colour[p * 3] - l) ** 2 + (colour[p * 3 + 1] - a) ** 2 + (colour[p * 3 + 2] - b) ** 2);
          if (distance[p] > d) {
            nearest[p] = s;
            distance[p] = d;
            change = true;
          }
        }
      }
    }
    if (!change) break;
    const sums = centres.map(() => [0, 0, 0, 0, 0]);
    const counts = new Array<number>(k).fill(0);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const p = y * w + x;
        const t = sums[nearest[p]];
        counts[nearest[p]]++;
        t[0] += y;
        t[1] += x;
        for (let c = 0; c < 3; c++) t[2 + c] += colour[p * 3 + c];
      }
    // A centre that lost every pixel has no mean (skimage's becomes NaN and never wins a pixel again).
    sums.forEach((t, s) => (counts[s] > 0 ? (centres[s] = t.map((v) => v / counts[s])) : (alive[s] = false)));
  }
  const cell = plane / k;
  return enforceConnectivity(nearest, h, w, Math.trunc(0.5 * cell), Math.trunc(3 * cell));
}

/**
 * Relabels connected components in scan order (4-neighbourhood, components capped at `maxSize` pixels) and merges
 * each smaller than `minSize` into the last neighbouring component its search met, as skimage does after SLIC.
 */
function enforceConnectivity(
  labels: Int32Array,
  h: number,
  w: number,
  minSize: number,
  maxSize: number,
): Int32Array {
  const out = new Int32Array(labels.length).fill(-1);
  const queue = new Int32Array(Math.max(maxSize, 1));
  const moves = [
    [0, 1],
    [0, -1],
    [1, 0],
    [-1, 0],
  ];
  let next = 0;
  for (let start = 0; start < labels.length; start++) {
    if (out[start] > -1) continue;
    let adjacent = next;
    const label = labels[start];
    out[start] = next;
    queue[0] = start;
    let size = 1;
    for (let visited = 0; visited < size && size < maxSize; visited++) {
      const y = Math.floor(queue[visited] / w);
      const x = queue[visited] % w;
      for (const [dy, dx] of moves) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        const q = yy * w + xx;
        if (labels[q] === label && out[q] === -1) {
          out[q] = next;
          queue[size++] = q;
          if (size >= maxSize) break;
        } else if (out[q] > -1 && out[q] !== next) adjacent = out[q];
      }
    }
    if (size < minSize) for (let i = 0; i < size; i++) out[queue[i]] = adjacent;
    else next++;
  }
  return out;
}
