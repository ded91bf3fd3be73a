import type { RgbImage } from './types.js';

/** An image file or buffer that cannot be used; the message names it and says what was expected. */
export class ImageError extends Error {
  override name = 'ImageError';
}

/** The most pixels netvis decodes: libvips's default input limit (16383 × 16383, about 268 megapixels). */
export const MAX_PIXELS = 16383 * 16383;

/** The shortest side, in pixels, of an image netvis will classify: smaller ones carry too little to upscale. */
export const MIN_SIDE = 32;

/** Throws an ImageError if a `width × height` image is empty or above MAX_PIXELS; `label` names it. */
export function checkDecodableSize(width: number, height: number, label: string): void {
  if (width * height === 0) throw new ImageError(`${label}: image of ${width}×${height} pixels is empty`);
  if (width * height > MAX_PIXELS)
    throw new ImageError(
      `${label}: ${width}×${height} is above the ${Math.floor(MAX_PIXELS / 1e6)} MP limit; resize it first`,
    );
}

/** Throws an ImageError if `img` is too small to classify (shorter side under MIN_SIDE); `label` names it. */
export function checkModelInputSize(img: RgbImage, label: string): void {
  if (Math.min(img.width, img.height) < MIN_SIDE)
    throw new ImageError(
      `${label}: ${img.width}×${img.height} pixels is too small (expected at least ${MIN_SIDE} px on the shorter side)`,
    );
}

// PIL's MULDIV255: a·b / 255 rounded, in integers.
function muldiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/**
 * CMYK bytes (C, M, Y, K per pixel, 0 = no ink) to RGB exactly as Pillow's `convert('RGB')` does (Convert.c,
 * cmyk2rgb): `R = (255 − K) − C·(255 − K)/255` with its integer rounding, no colour profile. Pillow reads every
 * 4-channel JPEG as Adobe's inverted CMYK, as libvips does, so the bytes to pass are the ones libvips gives.
 */
export function rgbFromCmyk(cmyk: Uint8Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
    const nk = 255 - cmyk[i + 3];
    data[j] = nk - muldiv255(cmyk[i], nk);
    data[j + 1] = nk - muldiv255(cmyk[i + 1], nk);
    data[j + 2] = nk - muldiv255(cmyk[i + 2], nk);
  }
  return { data, width, height };
}
