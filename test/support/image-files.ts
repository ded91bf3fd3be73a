// Image files tests make: CMYK JPEGs, and PNGs whose header lies about their size.
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

/** A PNG whose header claims `width × height` (the pixels after it are a 1×1 image's). */
export async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
  // IHDR: length (8), type (12), width (16), height (20), ..., CRC over type and data (29).
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

// libvips writes a CMYK JPEG without converting colours only from a CMYK source, and the simplest CMYK source to
// make is an uncompressed TIFF.

/** An uncompressed little-endian CMYK TIFF (PhotometricInterpretation 5, InkSet 1) of `width × height` CMYK bytes. */
export function cmykTiff(cmyk: Uint8Array, width: number, height: number): Buffer {
  // [tag, type (3 SHORT, 4 LONG), value]; BitsPerSample and StripOffsets point past the directory.
  const entries: [number, number, number][] = [
    [256, 3, width],
    [257, 3, height],
    [258, 3, 0],
    [259, 3, 1],
    [262, 3, 5],
    [273, 4, 0],
    [277, 3, 4],
    [278, 3, height],
    [279, 4, cmyk.length],
    [284, 3, 1],
    [332, 3, 1],
  ];
  const ifd = 8;
  const bitsAt = ifd + 2 + entries.length * 12 + 4;
  const dataAt = bitsAt + 8;
  const buf = Buffer.alloc(dataAt + cmyk.length);
  buf.write('II', 0);
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(ifd, 4);
  buf.writeUInt16LE(entries.length, ifd);
  entries.forEach(([tag, type, value], i) => {
    const at = ifd + 2 + i * 12;
    buf.writeUInt16LE(tag, at);
    buf.writeUInt16LE(type, at + 2);
    buf.writeUInt32LE(tag === 258 ? 4 : 1, at + 4);
    if (tag === 258) buf.writeUInt32LE(bitsAt, at + 8);
    else if (tag === 273) buf.writeUInt32LE(dataAt, at + 8);
    else if (type === 3) buf.writeUInt16LE(value, at + 8);
    else buf.writeUInt32LE(value, at + 8);
  });
  for (let k = 0; k < 4; k++) buf.writeUInt16LE(8, bitsAt + 2 * k);
  buf.set(cmyk, dataAt);
  return buf;
}

/** CMYK bytes as a CMYK JPEG, as libjpeg writes them (Adobe APP14 marker, inverted inks), no colour conversion. */
export function cmykJpeg(cmyk: Uint8Array, width: number, height: number, quality = 95): Promise<Buffer> {
  return sharp(cmykTiff(cmyk, width, height))
    .pipelineColourspace('cmyk')
    .toColourspace('cmyk')
    .jpeg({ quality })
    .toBuffer();
}

/** RGB bytes as the CMYK PIL's `convert('CMYK')` makes: C = 255 − R, M = 255 − G, Y = 255 − B, K = 0. */
export function naiveCmyk(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array((rgb.length / 3) * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    out[j] = 255 - rgb[i];
    out[j + 1] = 255 - rgb[i + 1];
    out[j + 2] = 255 - rgb[i + 2];
  }
  return out;
}

/** `jpeg` without the segments before its image data that `drop` picks (by marker byte and segment bytes). */
export function withoutSegments(jpeg: Buffer, drop: (marker: number, segment: Buffer) => boolean): Buffer {
  const parts = [jpeg.subarray(0, 2)];
  let at = 2;
  while (at < jpeg.length) {
    const marker = jpeg[at + 1];
    if (marker === 0xda) {
      parts.push(jpeg.subarray(at));
      break;
    }
    const end = at + 2 + jpeg.readUInt16BE(at + 2);
    if (!drop(marker, jpeg.subarray(at, end))) parts.push(jpeg.subarray(at, end));
    at = end;
  }
  return Buffer.concat(parts);
}

/** `jpeg` without its Adobe APP14 segment (a CMYK JPEG as some other encoders write it). */
export const withoutAdobeMarker = (jpeg: Buffer) => withoutSegments(jpeg, (marker) => marker === 0xee);

/** `jpeg` without its embedded ICC profile (APP2 ICC_PROFILE segments). */
export const withoutIccProfile = (jpeg: Buffer) =>
  withoutSegments(
    jpeg,
    (marker, segment) => marker === 0xe2 && segment.subarray(4, 15).toString() === 'ICC_PROFILE',
  );
