export { decodeImage, ImageError } from './decode.js';
export { checkModelInputSize, MAX_PIXELS, MIN_SIDE, rgbFromCmyk } from './checks.js';
export { encodePng } from './encode.js';
export { gaussianBlur, roll } from './filters.js';
export { slic, type SlicOptions } from './slic.js';
export { deprocess, imageToTensor, preprocess, validRange, type ChannelRange } from './preprocess.js';
export { centerCrop, resizeBilinear, resizeShorterSide } from './resize.js';
export { IMAGENET_PREPROCESSING, type Preprocessing, type RgbImage } from './types.js';
export { imageBatch, loadImageBatch, readImages } from './load.js';
