import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { RgbImage } from './types.js';

/** An image file or buffer that cannot be decoded; the message names it and says what was expected. */
export class ImageError extends Error {
  override name = 'ImageError';
}

const MAX_PIXELS = 100_000_000;
const FORMATS = new Set(['jpeg', 'png', 'webp']);
const EXPECTED = 'expected JPEG, PNG or WebP';

async function readBytes(path: string, label: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : `cannot read (${(err as Error).message})`;
    throw new ImageError(`${label}: ${why} (${EXPECTED} image file)`, { cause: err });
  }
}

/**
 * Decodes a JPEG, PNG or WebP file (path) or buffer to 8-bit RGB, turned upright by its EXIF
 * orientation, greyscale expanded to RGB and transparency flattened onto white (PIL's
 * `convert('RGB')` would instead drop alpha). Embedded ICC profiles are ignored, as PIL and hence
 * torchvision ignore them, so pixels are the ones ImageNet models were trained on. `name` labels
 * errors (default: the path, or "image"). Throws an ImageError for a missing or unreadable file,
 * a non-image, a corrupt image, or one of zero size or over 100 megapixels.
 */
export async function decodeImage(source: string | Uint8Array, name?: string): Promise<RgbImage> {
  const label = name ?? (typeof source === 'string' ? source : 'image');
  const bytes = typeof source === 'string' ? await readBytes(source, label) : source;
  const image = sharp(bytes, { ignoreIcc: true });
  let format: string;
  let width: number;
  let height: number;
  try {
    ({ format, width, height } = await image.metadata());
  } catch (err) {
    throw new ImageError(`${label}: not an image (${EXPECTED})`, { cause: err });
  }
  if (!FORMATS.has(format)) throw new ImageError(`${label}: ${format} image (${EXPECTED})`);
  if (width * height === 0) throw new ImageError(`${label}: image of ${width}×${height} pixels is empty`);
  if (width * height > MAX_PIXELS) {
    throw new ImageError(
      `${label}: ${width}×${height} pixels is too large (expected at most 100 megapixels)`,
    );
  }
  try {
    const { data, info } = await image
      .autoOrient()
      .toColourspace('srgb')
      .flatten({ background: '#ffffff' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    throw new ImageError(`${label}: corrupt ${format} image (${(err as Error).message})`, { cause: err });
  }
}
