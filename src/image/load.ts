import { readFile } from 'node:fs/promises';
import { concatBatch, type Tensor } from '../tensor.js';
import { decodeNpy } from '../util/npy.js';
import { decodeImage, ImageError } from './decode.js';
import { deprocess, imageToTensor } from './preprocess.js';
import { centerCrop, resizeShorterSide } from './resize.js';
import type { Preprocessing, RgbImage } from './types.js';

/**
 * One image already preprocessed, from a .npy file holding a float32 1×3×crop×crop (or 3×crop×crop) tensor, e.g. the
 * exact input a PyTorch pipeline fed its model; its crop is the tensor deprocessed. Throws an ImageError otherwise.
 */
async function loadTensorFile(path: string, p: Preprocessing): Promise<{ tensor: Tensor; crop: RgbImage }> {
  let t: Tensor;
  try {
    const array = decodeNpy(await readFile(path), path);
    t = { data: Float32Array.from(array.data), dims: array.dims };
  } catch (err) {
    throw new ImageError((err as Error).message);
  }
  const dims = t.dims.length === 3 ? [1, ...t.dims] : t.dims;
  if (dims.length !== 4 || dims[0] !== 1 || dims[1] !== 3 || dims[2] !== p.crop || dims[3] !== p.crop)
    throw new ImageError(
      `${path}: a tensor of shape (${t.dims.join(', ')}); expected one preprocessed image, 1×3×${p.crop}×${p.crop}`,
    );
  const tensor = { data: t.data, dims };
  return { tensor, crop: deprocess(tensor, p)[0] };
}

/** Image files (JPEG, PNG, WebP, or .npy preprocessed tensors) as a model batch plus the resized, cropped RGB images the batch was made from. */
export async function loadImageBatch(
  paths: readonly string[],
  p: Preprocessing,
): Promise<{ tensor: Tensor; crops: RgbImage[] }> {
  const crops: RgbImage[] = [];
  const tensors: Tensor[] = [];
  for (const path of paths) {
    if (path.toLowerCase().endsWith('.npy')) {
      const { tensor, crop } = await loadTensorFile(path, p);
      tensors.push(tensor);
      crops.push(crop);
      continue;
    }
    const crop = centerCrop(resizeShorterSide(await decodeImage(path), p.resize), p.crop);
    crops.push(crop);
    tensors.push(imageToTensor(crop, p));
  }
  return { tensor: concatBatch(tensors), crops };
}
