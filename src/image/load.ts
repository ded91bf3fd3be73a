import { readFile } from 'node:fs/promises';
import { concatBatch, type Tensor } from '../tensor.js';
import { decodeNpy } from '../util/npy.js';
import { checkModelInputSize } from './checks.js';
import { decodeImage, ImageError } from './decode.js';
import { deprocess, imageToTensor } from './preprocess.js';
import { centerCrop, resizeShorterSide } from './resize.js';
import type { Preprocessing, RgbImage } from './types.js';

/** An input read from a .npy file: a tensor already preprocessed for a model (checked against it in imageBatch). */
export interface TensorInput {
  path: string;
  tensor: Tensor;
}

/** What readImages gives per file: a decoded RGB image, or a preprocessed tensor from a .npy file. */
export type DecodedInput = RgbImage | TensorInput;

/**
 * Reads image files for a classifier: JPEG, PNG and WebP decoded (see decodeImage) and checked to be large enough to
 * classify (MIN_SIDE); `.npy` files read as float32 preprocessed tensors (e.g. the exact input a PyTorch pipeline fed
 * its model). Done before a model loads, so that a bad file fails at once. Throws an ImageError naming the first bad
 * file.
 */
export async function readImages(paths: readonly string[]): Promise<DecodedInput[]> {
  const inputs: DecodedInput[] = [];
  for (const path of paths) {
    if (path.toLowerCase().endsWith('.npy')) {
      try {
        const array = decodeNpy(await readFile(path), path);
        inputs.push({ path, tensor: { data: Float32Array.from(array.data), dims: array.dims } });
      } catch (err) {
        throw new ImageError((err as Error).message);
      }
      continue;
    }
    const image = await decodeImage(path);
    checkModelInputSize(image, path);
    inputs.push(image);
  }
  return inputs;
}

// A .npy input must hold one preprocessed image, 1×3×crop×crop (or 3×crop×crop); its crop is the tensor deprocessed.
function tensorInput({ path, tensor: t }: TensorInput, p: Preprocessing): { tensor: Tensor; crop: RgbImage } {
  const dims = t.dims.length === 3 ? [1, ...t.dims] : t.dims;
  if (dims.length !== 4 || dims[0] !== 1 || dims[1] !== 3 || dims[2] !== p.crop || dims[3] !== p.crop)
    throw new ImageError(
      `${path}: a tensor of shape (${t.dims.join(', ')}); expected one preprocessed image, 1×3×${p.crop}×${p.crop}`,
    );
  const tensor = { data: t.data, dims };
  return { tensor, crop: deprocess(tensor, p)[0] };
}

/**
 * Read inputs as a model batch (N×3×crop×crop) plus the resized, cropped RGB images the batch was made from. Throws an
 * ImageError for a .npy tensor that is not one image of the model's input size.
 */
export function imageBatch(
  inputs: readonly DecodedInput[],
  p: Preprocessing,
): { tensor: Tensor; crops: RgbImage[] } {
  const rows = inputs.map((input) => {
    if ('tensor' in input) return tensorInput(input, p);
    const crop = centerCrop(resizeShorterSide(input, p.resize), p.crop);
    return { tensor: imageToTensor(crop, p), crop };
  });
  return { tensor: concatBatch(rows.map((r) => r.tensor)), crops: rows.map((r) => r.crop) };
}

/** Image files (JPEG, PNG, WebP, or .npy preprocessed tensors) as a model batch plus the resized, cropped RGB images the batch was made from (readImages, then imageBatch). */
export async function loadImageBatch(
  paths: readonly string[],
  p: Preprocessing,
): Promise<{ tensor: Tensor; crops: RgbImage[] }> {
  return imageBatch(await readImages(paths), p);
}
