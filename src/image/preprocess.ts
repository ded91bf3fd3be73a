import type { Tensor } from '../tensor.js';
import { centerCrop, resizeShorterSide } from './resize.js';
import { IMAGENET_PREPROCESSING, type Preprocessing, type RgbImage } from './types.js';

/** A channel's [min, max] in normalised units. */
export type ChannelRange = [min: number, max: number];

// Per channel, the normalised value of each byte, computed in float32 step by step as
// torchvision's ToTensor (x / 255) and Normalize ((x - mean) / std) do, so results match bit for bit.
function normalisationTables(p: Preprocessing): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const mean = Math.fround(p.mean[c]);
    const std = Math.fround(p.std[c]);
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(Math.fround(v / 255) - mean) / std);
    return table;
  });
}

// Writes `img` as 3 normalised planes (CHW) into `out` from `offset`.
function writePlanes(img: RgbImage, tables: Float32Array[], out: Float32Array, offset: number): void {
  const plane = img.width * img.height;
  for (let c = 0; c < 3; c++) {
    const table = tables[c];
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = table[img.data[i * 3 + c]];
  }
}

/** `img` as a normalised 1×3×H×W float32 tensor, without resizing or cropping: `(x / 255 - mean) / std` with ImageNet's mean and std by default. */
export function imageToTensor(img: RgbImage, p: Preprocessing = IMAGENET_PREPROCESSING): Tensor {
  const data = new Float32Array(3 * img.width * img.height);
  writePlanes(img, normalisationTables(p), data, 0);
  return { data, dims: [1, 3, img.height, img.width] };
}

/** Images as the model's N×3×crop×crop float32 input: shorter side resized to `p.resize`, centre `p.crop` square, normalised; ImageNet's torchvision preprocessing by default. */
export function preprocess(images: RgbImage[], p: Preprocessing = IMAGENET_PREPROCESSING): Tensor {
  const tables = normalisationTables(p);
  const per = 3 * p.crop * p.crop;
  const data = new Float32Array(images.length * per);
  images.forEach((img, n) =>
    writePlanes(centerCrop(resizeShorterSide(img, p.resize), p.crop), tables, data, n * per),
  );
  return { data, dims: [images.length, 3, p.crop, p.crop] };
}

/** Normalised N×3×H×W tensor back to N images: `x × std + mean`, clamped to [0, 1], × 255, rounded; ImageNet's mean and std by default. */
export function deprocess(t: Tensor, p: Preprocessing = IMAGENET_PREPROCESSING): RgbImage[] {
  if (t.dims.length !== 4 || t.dims[1] !== 3)
    throw new RangeError(`deprocess: dims [${t.dims}], expected N×3×H×W`);
  const [n, , height, width] = t.dims;
  const plane = height * width;
  return Array.from({ length: n }, (_, i) => {
    const data = new Uint8Array(plane * 3);
    for (let c = 0; c < 3; c++) {
      const base = (i * 3 + c) * plane;
      for (let j = 0; j < plane; j++) {
        const v = t.data[base + j] * p.std[c] + p.mean[c];
        data[j * 3 + c] = Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255);
      }
    }
    return { data, width, height };
  });
}

/** Per channel (R, G, B), the normalised values of 0 and 1, i.e. the range a valid image spans: `[(0 - mean) / std, (1 - mean) / std]`; ImageNet's by default. */
export function validRange(
  p: Preprocessing = IMAGENET_PREPROCESSING,
): [ChannelRange, ChannelRange, ChannelRange] {
  const range = (c: number): ChannelRange => [(0 - p.mean[c]) / p.std[c], (1 - p.mean[c]) / p.std[c]];
  return [range(0), range(1), range(2)];
}
