import { checkDecodableSize, ImageError } from './checks.js';
import type { RgbImage } from './types.js';

/**
 * Decodes an image file (JPEG, PNG, WebP, or anything else the browser reads) to 8-bit RGB in a page or a worker,
 * like `decodeImage` does in Node: upright by its EXIF orientation, embedded colour profiles ignored (as PIL and so
 * torchvision ignore them), transparency flattened onto white. CMYK JPEGs go through the browser's own formula, which
 * for Chromium truncates where PIL rounds (at most one level apart). `name` labels errors; throws an ImageError for
 * an empty file, a non-image, or one of zero size or above the 268 MP limit.
 */
export async function decodeImageInBrowser(source: Blob, name = 'image'): Promise<RgbImage> {
  if (source.size === 0) throw new ImageError(`${name}: empty file (expected a JPEG, PNG or WebP image)`);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(source, {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
      imageOrientation: 'from-image',
    });
  } catch (err) {
    throw new ImageError(`${name}: not an image the browser can decode (expected JPEG, PNG or WebP)`, {
      cause: err,
    });
  }
  try {
    const { width, height } = bitmap;
    checkDecodableSize(width, height, name);
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error(`${name}: this browser has no 2D canvas to decode images with`);
    ctx.drawImage(bitmap, 0, 0);
    return rgbFromRgba(ctx.getImageData(0, 0, width, height).data, width, height);
  } finally {
    bitmap.close();
  }
}

/** RGBA bytes (canvas ImageData) to RGB, alpha flattened onto white. */
export function rgbFromRgba(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
    const a = rgba[i + 3];
    if (a === 255) {
      data[j] = rgba[i];
      data[j + 1] = rgba[i + 1];
      data[j + 2] = rgba[i + 2];
    } else {
      // Canvas data is not premultiplied: blend with white by alpha.
      for (let c = 0; c < 3; c++) data[j + c] = Math.round((rgba[i + c] * a + 255 * (255 - a)) / 255);
    }
  }
  return { data, width, height };
}

/** RGB to RGBA bytes for a canvas's ImageData (opaque). */
export function rgbaFromRgb(image: RgbImage): Uint8ClampedArray<ArrayBuffer> {
  const { data, width, height } = image;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; i < data.length; i += 3, j += 4) {
    out[j] = data[i];
    out[j + 1] = data[i + 1];
    out[j + 2] = data[i + 2];
    out[j + 3] = 255;
  }
  return out;
}
