import sharp from 'sharp';
import type { RgbImage } from './types.js';

/** `img` as PNG file bytes (8-bit RGB, sharp's default compression level 6). */
export async function encodePng(img: RgbImage): Promise<Uint8Array> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();
}
