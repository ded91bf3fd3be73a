import gifenc from 'gifenc';
import type { RgbImage } from '../image/types.js';

// gifenc is CommonJS whose exports Node cannot name statically, so it is imported whole.
const { GIFEncoder, quantize, applyPalette } = gifenc;

export interface GifOptions {
  /** Time each frame is shown, in ms (stored in 10 ms units); default 100. */
  delayMs?: number;
  /** Repeat forever (true) or play once (false); default true. */
  loop?: boolean;
}

// Colours are binned at 4 bits per channel to choose and apply the palette: binning at 5-6-5 bits makes gifenc's
// quantizer take seconds per noisy 224×224 frame, and the 256-colour palette is much coarser than either.
const FORMAT = 'rgb444';
const MAX_PALETTE_SAMPLES = 1 << 18; // pixels, drawn evenly from all frames

function toRgba(rgb: Uint8Array, out: Uint8Array, stride = 1): void {
  for (let i = 0, j = 0; j < out.length; i += 3 * stride, j += 4) {
    out[j] = rgb[i];
    out[j + 1] = rgb[i + 1];
    out[j + 2] = rgb[i + 2];
    out[j + 3] = 255;
  }
}

/** Equal-sized frames as an animated GIF89a sharing one 256-colour palette chosen from all frames. */
export function encodeGif(frames: RgbImage[], opts: GifOptions = {}): Uint8Array {
  if (frames.length === 0) throw new Error('encodeGif: no frames');
  const { width, height } = frames[0];
  const pixels = width * height;
  frames.forEach((frame, f) => {
    if (frame.width !== width || frame.height !== height)
      throw new Error(
        `encodeGif: frame ${f} is ${frame.width}×${frame.height}, frame 0 is ${width}×${height}`,
      );
    if (frame.data.length !== pixels * 3)
      throw new Error(`encodeGif: frame ${f} has ${frame.data.length} bytes, not ${width}×${height}×3`);
  });

  const stride = Math.ceil((pixels * frames.length) / MAX_PALETTE_SAMPLES);
  const perFrame = Math.ceil(pixels / stride);
  const sample = new Uint8Array(perFrame * frames.length * 4);
  frames.forEach((frame, f) =>
    toRgba(frame.data, sample.subarray(f * perFrame * 4, (f + 1) * perFrame * 4), stride),
  );
  const palette = quantize(sample, 256, { format: FORMAT });

  const gif = GIFEncoder({ initialCapacity: pixels * frames.length });
  const rgba = new Uint8Array(pixels * 4);
  for (const frame of frames) {
    toRgba(frame.data, rgba);
    gif.writeFrame(applyPalette(rgba, palette, FORMAT), width, height, {
      palette,
      delay: opts.delayMs ?? 100,
      repeat: (opts.loop ?? true) ? 0 : -1,
    });
  }
  gif.finish();
  return gif.bytes();
}
