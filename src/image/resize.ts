import type { RgbImage } from './types.js';

// Pillow's fixed-point format for 8-bit resampling: 32-bit accumulators, 8 bits of result,
// 2 bits of headroom for filters with negative lobes.
const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** Per output pixel along one axis: the first input pixel, how many are used, and their integer weights. */
interface Coefficients {
  ksize: number;
  start: Int32Array;
  count: Int32Array;
  weights: Int32Array;
}

function triangle(x: number): number {
  x = Math.abs(x);
  return x < 1 ? 1 - x : 0;
}

// Pillow's precompute_coeffs + normalize_coeffs_8bpc for BILINEAR (support 1), operation for
// operation in double precision so that the rounded integer weights come out identical.
function bilinearCoefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  // Downscaling widens the filter (antialiasing); upscaling keeps it at its natural width.
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale; // BILINEAR's support is 1 input pixel at scale 1
  const ksize = Math.ceil(support) * 2 + 1;
  const invFilterScale = 1 / filterScale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const n = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let sum = 0;
    for (let x = 0; x < n; x++) {
      w[x] = triangle((x + xmin - center + 0.5) * invFilterScale);
      sum += w[x];
    }
    // Bilinear weights are never negative, so Pillow's rounding is a plain +0.5 and truncate.
    for (let x = 0; x < n; x++) weights[xx * ksize + x] = Math.trunc(0.5 + (w[x] / sum) * ONE);
    start[xx] = xmin;
    count[xx] = n;
  }
  return { ksize, start, count, weights };
}

function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resampleHorizontal(img: RgbImage, outWidth: number): RgbImage {
  const { data, width, height } = img;
  const { ksize, start, count, weights } = bilinearCoefficients(width, outWidth);
  const out = new Uint8Array(outWidth * height * 3);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const k = xx * ksize;
      const first = row + start[xx] * 3;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let x = 0; x < count[xx]; x++) {
        const wt = weights[k + x];
        const i = first + x * 3;
        r += data[i] * wt;
        g += data[i + 1] * wt;
        b += data[i + 2] * wt;
      }
      const o = (y * outWidth + xx) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { data: out, width: outWidth, height };
}

function resampleVertical(img: RgbImage, outHeight: number): RgbImage {
  const { data, width, height } = img;
  const { ksize, start, count, weights } = bilinearCoefficients(height, outHeight);
  const stride = width * 3;
  const out = new Uint8Array(width * outHeight * 3);
  for (let yy = 0; yy < outHeight; yy++) {
    const k = yy * ksize;
    const first = start[yy] * stride;
    for (let i = 0; i < stride; i++) {
      let acc = HALF;
      for (let y = 0; y < count[yy]; y++) acc += data[first + y * stride + i] * weights[k + y];
      out[yy * stride + i] = clip8(acc);
    }
  }
  return { data: out, width, height: outHeight };
}

/** `img` resized to `width × height` pixels exactly as Pillow's `Image.resize(size, Image.BILINEAR)` does it (antialiased when shrinking, 8-bit fixed point). */
export function resizeBilinear(img: RgbImage, width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resizeBilinear: ${width}×${height} is not a size in whole pixels`);
  }
  // Like Pillow: the horizontal pass first, each pass rounding to 8 bits, and an axis whose size
  // does not change is left alone.
  const horizontal = width === img.width ? img : resampleHorizontal(img, width);
  return height === img.height ? horizontal : resampleVertical(horizontal, height);
}

/** `img` resized so that its shorter side is `size` pixels and the longer one `trunc(size × long / short)`, as torchvision's `Resize(size)` on a PIL image. */
export function resizeShorterSide(img: RgbImage, size: number): RgbImage {
  const { width, height } = img;
  const long = Math.trunc((size * Math.max(width, height)) / Math.min(width, height));
  return width <= height ? resizeBilinear(img, size, long) : resizeBilinear(img, long, size);
}

// Python's round() on the half-integers and integers that (side - size) / 2 can be: half to even.
function roundHalfEven(x: number): number {
  return Number.isInteger(x) ? x : 2 * Math.round(x / 2);
}

/** The central `size × size` pixels of `img`, offsets rounded half to even as torchvision's `CenterCrop(size)`; throws a RangeError if `img` is smaller. */
export function centerCrop(img: RgbImage, size: number): RgbImage {
  const { data, width, height } = img;
  if (!Number.isInteger(size) || size < 1 || size > width || size > height) {
    throw new RangeError(`centerCrop: cannot crop ${size}×${size} pixels from a ${width}×${height} image`);
  }
  const top = roundHalfEven((height - size) / 2);
  const left = roundHalfEven((width - size) / 2);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const from = ((top + y) * width + left) * 3;
    out.set(data.subarray(from, from + size * 3), y * size * 3);
  }
  return { data: out, width: size, height: size };
}
