import type { RgbImage } from '../image/types.js';
import { colorize, normalizeMap, type ColormapName, type NormalizeOptions } from './colormap.js';

export interface OverlayOptions extends NormalizeOptions {
  /** Opacity of the heatmap where the normalised map is strongest, 0..1; default 0.5. */
  alpha?: number;
  /** Default 'jet' ('RdBu_r' for sign 'all'). */
  colormap?: ColormapName;
}

/**
 * The map (H×W, same size as the image) as a heatmap blended onto the image. Each pixel's heatmap opacity is `alpha`
 * times its normalised map value (|value − 0.5|·2 for sign 'all'), so low-attribution areas show the photo unchanged.
 */
export function overlayHeatmap(image: RgbImage, map: Float32Array, opts: OverlayOptions = {}): RgbImage {
  const { width, height } = image;
  if (map.length !== width * height)
    throw new Error(`overlayHeatmap: map has ${map.length} values, image is ${width}×${height}`);
  const alpha = opts.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`overlayHeatmap: alpha ${alpha} is not in [0, 1]`);
  const signed = opts.sign === 'all';
  const t = normalizeMap(map, opts);
  const heat = colorize(t, width, height, opts.colormap ?? (signed ? 'RdBu_r' : 'jet'));
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < t.length; i++) {
    const w = alpha * (signed ? Math.abs(t[i] - 0.5) * 2 : t[i]);
    for (let c = i * 3; c < i * 3 + 3; c++) data[c] = Math.round((1 - w) * image.data[c] + w * heat.data[c]);
  }
  return { data, width, height };
}
