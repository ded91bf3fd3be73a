import { concatBatch, type Tensor } from '../tensor.js';
import { decodeImage } from './decode.js';
import { imageToTensor } from './preprocess.js';
import { centerCrop, resizeShorterSide } from './resize.js';
import type { Preprocessing, RgbImage } from './types.js';

/** Image files as a model batch plus the resized, cropped RGB images the batch was made from. */
export async function loadImageBatch(
  paths: readonly string[],
  p: Preprocessing,
): Promise<{ tensor: Tensor; crops: RgbImage[] }> {
  const crops: RgbImage[] = [];
  for (const path of paths)
    crops.push(centerCrop(resizeShorterSide(await decodeImage(path), p.resize), p.crop));
  return { tensor: concatBatch(crops.map((c) => imageToTensor(c, p))), crops };
}
