// SLIC superpixels (Achanta et al. 2012, "SLIC Superpixels Compared to State-of-the-Art Superpixel Methods", TPAMI 34):
// k-means on (L, a, b, x, y) with each centre searching only a 2S × 2S window. No JavaScript package on npm implements
// it (OpenCV.js builds leave out the ximgproc module that has it), so it is written here after the paper, with
// OpenCV's ximgproc parameters: region size S and ruler m (compactness), then small fragments merged.

/** SLIC's parameters. */
export interface SlicOptions {
  /** S: the grid step of the initial centres, pixels; default: √(H·W / 50), about 50 superpixels (32 at 224×224). */
  regionSize?: number;
  /** m: how much the spatial distance counts against the colour distance (OpenCV's `ruler`); default 10. */
  ruler?: number;
  /** k-means iterations; default 10. */
  iterations?: number;
  /** Connected fragments smaller than this fraction of S² are merged into a neighbour; default 0.25. */
  minSize?: number;
}

/** A segmentation: one label per pixel, 0…count−1, each label one 4-connected region. */
export interface Segmentation {
  /** H×W, row-major. */
  labels: Int32Array;
  count: number;
}

// sRGB in [0, 1] to CIELAB (D65) with L scaled to 0–255 as OpenCV's 8-bit conversion does, so that a `ruler` means the
// same here as there.
function toLab(rgb: Float32Array, pixels: number): Float64Array {
  const lab = new Float64Array(3 * pixels);
  const linear = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  for (let p = 0; p < pixels; p++) {
    const r = linear(rgb[p]);
    const g = linear(rgb[pixels + p]);
    const b = linear(rgb[2 * pixels + p]);
    const x = (0.412453 * r + 0.35758 * g + 0.180423 * b) / 0.950456;
    const y = 0.212671 * r + 0.71516 * g + 0.072169 * b;
    const z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / 1.088754;
    const fy = f(y);
    lab[p] = (y > 0.008856 ? 116 * fy - 16 : 903.3 * y) * 2.55;
    lab[pixels + p] = 500 * (f(x) - fy);
    lab[2 * pixels + p] = 200 * (fy - f(z));
  }
  return lab;
}

/**
 * SLIC superpixels of an image given as planar RGB (3×H×W, values in [0, 1]): `regionSize` S (default about 50
 * superpixels), `ruler` m (default 10), 10 iterations, fragments below a quarter of S² merged into their neighbour;
 * labels renumbered 0…k−1 in raster order. Deterministic. Throws a RangeError for a bad size or option.
 */
export function slicSuperpixels(
  rgb: Float32Array,
  height: number,
  width: number,
  { regionSize, ruler = 10, iterations = 10, minSize = 0.25 }: SlicOptions = {},
): Segmentation {
  const pixels = height * width;
  if (rgb.length !== 3 * pixels)
    throw new RangeError(`slicSuperpixels: ${rgb.length} values, expected 3×${height}×${width}`);
  const step = Math.max(1, Math.round(regionSize ?? Math.sqrt(pixels / 50)));
  if (!(ruler > 0)) throw new RangeError(`slicSuperpixels: ruler ${ruler}, expected a positive number`);
  const lab = toLab(rgb, pixels);
  const at = (c: number, y: number, x: number) => lab[c * pixels + y * width + x];

  // Centres on a grid of step S, each moved to the lowest colour gradient in its 3×3 neighbourhood (off edges).
  const centres: number[][] = [];
  const gradient = (y: number, x: number) => {
    if (y < 1 || x < 1 || y >= height - 1 || x >= width - 1) return Infinity;
    let g = 0;
    for (let c = 0; c < 3; c++)
      g += (at(c, y, x + 1) - at(c, y, x - 1)) ** 2 + (at(c, y + 1, x) - at(c, y - 1, x)) ** 2;
    return g;
  };
  for (let y0 = Math.floor(step / 2); y0 < height; y0 += step)
    for (let x0 = Math.floor(step / 2); x0 < width; x0 += step) {
      let best = [y0, x0];
      let low = gradient(y0, x0);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const g = gradient(y0 + dy, x0 + dx);
          if (g < low) [low, best] = [g, [y0 + dy, x0 + dx]];
        }
      const [y, x] = best;
      centres.push([at(0, y, x), at(1, y, x), at(2, y, x), y, x]);
    }

  const labels = new Int32Array(pixels).fill(-1);
  const distance = new Float64Array(pixels);
  const spatial = (ruler / step) ** 2;
  for (let iter = 0; iter < iterations; iter++) {
    distance.fill(Infinity);
    centres.forEach(([l, a, b, cy, cx], k) => {
      const y0 = Math.max(0, Math.round(cy - step));
      const y1 = Math.min(height, Math.round(cy + step) + 1);
      const x0 = Math.max(0, Math.round(cx - step));
      const x1 = Math.min(width, Math.round(cx + step) + 1);
      for (let y = y0; y < y1; y++)
        for (let x = x0; x < x1; x++) {
          const p = y * width + x;
          const dc = (lab[p] - l) ** 2 + (lab[pixels + p] - a) ** 2 + (lab[2 * pixels + p] - b) ** 2;
          const d = dc + ((y - cy) ** 2 + (x - cx) ** 2) * spatial;
          if (d < distance[p]) {
            distance[p] = d;
            labels[p] = k;
          }
        }
    });
    const sums = centres.map(() => [0, 0, 0, 0, 0, 0]);
    for (let p = 0; p < pixels; p++) {
      const s = sums[labels[p]];
      s[0] += lab[p];
      s[1] += lab[pixels + p];
      s[2] += lab[2 * pixels + p];
      s[3] += Math.floor(p / width);
      s[4] += p % width;
      s[5]++;
    }
    sums.forEach((s, k) => {
      if (s[5] > 0) centres[k] = s.slice(0, 5).map((v) => v / s[5]);
    });
  }
  return connectedLabels(labels, height, width, Math.max(1, Math.round(minSize * step * step)));
}

/**
 * Each 4-connected region of equal labels as one label, regions of fewer than `minPixels` pixels merged into the
 * region met just before them in raster order (Achanta et al.'s post-processing), renumbered 0…k−1 in raster order.
 */
export function connectedLabels(
  labels: Int32Array,
  height: number,
  width: number,
  minPixels = 1,
): Segmentation {
  const pixels = height * width;
  const out = new Int32Array(pixels).fill(-1);
  const stack: number[] = [];
  const region: number[] = [];
  let count = 0;
  for (let start = 0; start < pixels; start++) {
    if (out[start] >= 0) continue;
    // The label of a region already numbered beside the start pixel (left, then above): where a fragment goes.
    const y = Math.floor(start / width);
    const x = start % width;
    const neighbour = x > 0 ? out[start - 1] : y > 0 ? out[start - width] : -1;
    region.length = 0;
    stack.push(start);
    out[start] = count;
    while (stack.length) {
      const p = stack.pop()!;
      region.push(p);
      const py = Math.floor(p / width);
      const px = p % width;
      for (const q of [
        px > 0 ? p - 1 : -1,
        px < width - 1 ? p + 1 : -1,
        py > 0 ? p - width : -1,
        py < height - 1 ? p + width : -1,
      ])
        if (q >= 0 && out[q] < 0 && labels[q] === labels[start]) {
          out[q] = count;
          stack.push(q);
        }
    }
    if (region.length < minPixels && neighbour >= 0) for (const p of region) out[p] = neighbour;
    else count++;
  }
  return { labels: out, count };
}
