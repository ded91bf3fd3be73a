export { decodeImage, ImageError } from './decode.js';
export { encodePng } from './encode.js';
export { gaussianBlur, roll } from './filters.js';
export { slic, type SlicOptions } from './slic.js';
export { deprocess, imageToTensor, preprocess, validRange, type ChannelRange } from './preprocess.js';
export { centerCrop, resizeBilinear, resizeShorterSide } from './resize.js';
export { IMAGENET_PREPROCESSING, type Preprocessing, type RgbImage } from './types.js';
export { loadImageBatch } from './load.js';
// Merge of the metrics and methods branches: both wrote a SLIC; the methods one's options are renamed here until one is kept.
export {
  slicSuperpixels,
  connectedLabels,
  type SlicOptions as SuperpixelOptions,
  type Segmentation,
} from './superpixels.js';
