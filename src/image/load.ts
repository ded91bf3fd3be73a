import { concatBatch, type Tensor } from '../tensor.js';
import { checkModelInputSize } from './checks.js';
import { decodeImage } from './decode.js';
import { imageToTensor } from './preprocess.js';
import { centerCrop, resizeShorterSide } from './resize.js';
import type { Preprocessing, RgbImage } from './types.js';

/**
 * Decodes image files for a classifier (see decodeImage), checking each is large enough to classify (MIN_SIDE):
 * done before a model loads, so that a bad image fails at once. Throws an ImageError naming the first bad file.
 */
export async function readImages(paths: readonly string[]): Promise<RgbImage[]> {
  const images: RgbImage[] = [];
  for (const path of paths) {
    const image = await decodeImage(path);
    checkModelInputSize(image, path);
    images.push(image);
  }
  return images;
}

/** Decoded images as a model batch (N×3×crop×crop) plus the resized, cropped RGB images the batch was made from. */
export function imageBatch(
  images: readonly RgbImage[],
  p: Preprocessing,
): { tensor: Tensor; crops: RgbImage[] } {
  const crops = images.map((image) => centerCrop(resizeShorterSide(image, p.resize), p.crop));
  return { tensor: concatBatch(crops.map((c) => imageToTensor(c, p))), crops };
}

/** Image files as a model batch plus the resized, cropped RGB images the batch was made from (readImages, then imageBatch). */
export async function loadImageBatch(
  paths: readonly string[],
  p: Preprocessing,
): Promise<{ tensor: Tensor; crops: RgbImage[] }> {
  return imageBatch(await readImages(paths), p);
}
