import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { checkDecodableSize, ImageError, rgbFromCmyk } from './checks.js';
import type { RgbImage } from './types.js';

export { ImageError } from './checks.js';

const FORMATS = new Set(['jpeg', 'png', 'webp']);
const EXPECTED = 'expected JPEG, PNG or WebP';

async function readBytes(path: string, label: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a folder'
          : `cannot read (${(err as Error).message})`;
    throw new ImageError(`${label}: ${why} (${EXPECTED} image file)`, { cause: err });
  }
}

/**
 * Decodes a JPEG, PNG or WebP file (path) or buffer to 8-bit RGB as PIL's `Image.open(f).convert('RGB')` does, so
 * pixels are the ones torchvision models were trained on: embedded ICC profiles ignored, CMYK JPEGs (Adobe's
 * inverted CMYK, as PIL reads every 4-channel JPEG) converted with PIL's formula, greyscale expanded. Unlike PIL, the
 * image is turned upright by its EXIF orientation and transparency is flattened onto white (PIL would drop alpha).
 * `name` labels errors (default: the path, or "image"). Throws an ImageError for a missing, unreadable or empty file, a
 * non-image, a corrupt image, or one of zero size or above the 268 MP limit (MAX_PIXELS).
 */
export async function decodeImage(source: string | Uint8Array, name?: string): Promise<RgbImage> {
  const label = name ?? (typeof source === 'string' ? source : 'image');
  const bytes = typeof source === 'string' ? await readBytes(source, label) : source;
  if (bytes.length === 0) throw new ImageError(`${label}: empty file (${EXPECTED} image)`);
  // The pixel limit is checked below, with a message that says what to do.
  const image = sharp(bytes, { ignoreIcc: true, limitInputPixels: false });
  let format: string;
  let width: number;
  let height: number;
  let space: string;
  try {
    ({ format, width, height, space } = await image.metadata());
  } catch (err) {
    throw new ImageError(`${label}: not an image (${EXPECTED})`, { cause: err });
  }
  if (!FORMATS.has(format)) throw new ImageError(`${label}: ${format} image (${EXPECTED})`);
  checkDecodableSize(width, height, label);
  try {
    const upright = image.autoOrient();
    if (space === 'cmyk') {
      // libvips would convert through a built-in CMYK profile; PIL uses a plain formula on the raw inks.
      const { data, info } = await upright
        .pipelineColourspace('cmyk')
        .toColourspace('cmyk')
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      return rgbFromCmyk(data, info.width, info.height);
    }
    const { data, info } = await upright
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
    throw new ImageError(`${label}: corrupt ${format} image (${firstLine(err)})`, { cause: err });
  }
}

// libvips messages span lines ("VipsJpeg: ...\n..."); an error is one line.
function firstLine(err: unknown): string {
  return String((err as Error).message ?? err)
    .split('\n')[0]
    .trim();
}
