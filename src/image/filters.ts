import type { Tensor } from '../tensor.js';

// Height and width of the last two axes, and how many H×W planes come before them.
function planes(t: Tensor, op: string): { count: number; height: number; width: number } {
  if (t.dims.length < 2) throw new RangeError(`${op}: dims [${t.dims}], expected at least 2 axes (…×H×W)`);
  const height = t.dims[t.dims.length - 2];
  const width = t.dims[t.dims.length - 1];
  return { count: t.data.length / (height * width), height, width };
}

// scipy.ndimage's _gaussian_kernel1d: exp(-0.5 / sigma² × x²) for x in [-radius, radius], summed to 1.
// Returned from the centre outwards (weights[j] for offset ±j), as the kernel is symmetric.
function gaussianKernel(sigma: number, radius: number): Float64Array {
  const weights = new Float64Array(radius + 1);
  const a = -0.5 / (sigma * sigma);
  let sum = 0;
  for (let x = -radius; x <= radius; x++) sum += Math.exp(a * (x * x));
  for (let j = 0; j <= radius; j++) weights[j] = Math.exp(a * (j * j)) / sum;
  return weights;
}

// scipy's 'reflect' mode (d c b a | a b c d | d c b a), for every offset a line of length n can be
// read at, including offsets past a whole reflection when the kernel is longer than the line.
function reflectIndex(i: number, n: number): number {
  const m = ((i % (2 * n)) + 2 * n) % (2 * n);
  return m < n ? m : 2 * n - 1 - m;
}

/** `t` (…×H×W, e.g. N×C×H×W) blurred along H then W by scipy.ndimage.gaussian_filter1d with standard deviation `sigma` in pixels (truncate 4, mode 'reflect'); float64 sums, float32 between passes, as scipy does on float32 input. */
export function gaussianBlur(t: Tensor, sigma: number): Tensor {
  if (!(sigma > 0 && Number.isFinite(sigma)))
    throw new RangeError(`gaussianBlur: sigma ${sigma}, expected a positive number`);
  const { count, height, width } = planes(t, 'gaussianBlur');
  const radius = Math.trunc(4 * sigma + 0.5);
  const w = gaussianKernel(sigma, radius);
  const rowAt = Int32Array.from({ length: height + 2 * radius }, (_, k) => reflectIndex(k - radius, height));
  const colAt = Int32Array.from({ length: width + 2 * radius }, (_, k) => reflectIndex(k - radius, width));
  const tmp = new Float32Array(t.data.length);
  const out = new Float32Array(t.data.length);
  const acc = new Float64Array(width);
  const line = new Float64Array(width + 2 * radius);
  const plane = height * width;
  for (let p = 0; p < count; p++) {
    const base = p * plane;
    // Along H, a whole row at a time; each value is summed in scipy's order for symmetric kernels:
    // the centre tap, then the pairs at ±radius down to ±1.
    for (let y = 0; y < height; y++) {
      const centre = base + y * width;
      for (let x = 0; x < width; x++) acc[x] = t.data[centre + x] * w[0];
      for (let j = radius; j >= 1; j--) {
        const above = base + rowAt[y + radius - j] * width;
        const below = base + rowAt[y + radius + j] * width;
        for (let x = 0; x < width; x++) acc[x] += (t.data[above + x] + t.data[below + x]) * w[j];
      }
      tmp.set(acc, centre);
    }
    // Along W, through a reflect-padded copy of the row.
    for (let y = 0; y < height; y++) {
      const row = base + y * width;
      for (let k = 0; k < line.length; k++) line[k] = tmp[row + colAt[k]];
      for (let x = 0; x < width; x++) {
        const c = x + radius;
        let s = line[c] * w[0];
        for (let j = radius; j >= 1; j--) s += (line[c - j] + line[c + j]) * w[j];
        out[row + x] = s;
      }
    }
  }
  return { data: out, dims: [...t.dims] };
}

/** `t` (…×H×W) rolled circularly by `dx` pixels along W and `dy` along H, as `torch.roll(t, shifts=(dy, dx), dims=(-2, -1))`: positive shifts move content right and down. */
export function roll(t: Tensor, dx: number, dy: number): Tensor {
  if (!Number.isInteger(dx) || !Number.isInteger(dy))
    throw new RangeError(`roll: shifts ${dx}, ${dy} are not whole pixels`);
  const { count, height, width } = planes(t, 'roll');
  const sx = ((dx % width) + width) % width;
  const sy = ((dy % height) + height) % height;
  const out = new Float32Array(t.data.length);
  const plane = height * width;
  for (let p = 0; p < count; p++) {
    for (let y = 0; y < height; y++) {
      const from = p * plane + y * width;
      const to = p * plane + ((y + sy) % height) * width;
      for (let x = 0; x < width - sx; x++) out[to + x + sx] = t.data[from + x];
      for (let x = width - sx; x < width; x++) out[to + x + sx - width] = t.data[from + x];
    }
  }
  return { data: out, dims: [...t.dims] };
}
