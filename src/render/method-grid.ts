import type { RgbImage } from '../image/types.js';
import { applyColormap, type ColormapName, type NormalizeOptions } from './colormap.js';
import { gridFigure, type Tile } from './figure.js';
import { overlayHeatmap } from './overlay.js';

/** How an attribution map is drawn: `normalizeMap`'s sign and clipping, a colormap, alone or blended on the image. */
export interface MapStyle extends NormalizeOptions {
  /** Default 'hot' ('jet' for an overlay; 'RdBu_r' for sign 'all'). */
  colormap?: ColormapName;
  /** Blend the heatmap on the image (`overlayHeatmap`) instead of drawing it alone; default false. */
  overlay?: boolean;
  /** The overlay's opacity at the strongest values, 0..1; default 0.5. */
  alpha?: number;
}

/** An H×W map (row-major, the image's size) drawn as `style` says: a heatmap, or an overlay on `image`. */
export function renderMap(map: Float32Array, image: RgbImage, style: MapStyle = {}): RgbImage {
  const { overlay, alpha, ...colour } = style;
  return overlay
    ? overlayHeatmap(image, map, { ...colour, alpha })
    : applyColormap(map, image.width, image.height, colour);
}

/** One method's map for one image, with its caption (method name and anything worth a glance, e.g. a layer). */
export interface MethodPanel {
  caption: string;
  /** H×W, the image's size. */
  map: Float32Array;
  style?: MapStyle;
}

/** One image and its maps: a row of the comparison grid. */
export interface MethodRow {
  image: RgbImage;
  /** Caption of the image tile (e.g. the class explained). */
  caption: string;
  panels: MethodPanel[];
}

/** Several methods side by side as PNG bytes: per row an image, then each method's map drawn in its style. */
export function methodGrid(rows: MethodRow[]): Promise<Uint8Array> {
  if (rows.length === 0) throw new Error('methodGrid: no rows');
  return gridFigure(
    rows.map((row): Tile[] => [
      { image: row.image, caption: row.caption },
      ...row.panels.map((p) => ({ image: renderMap(p.map, row.image, p.style), caption: p.caption })),
    ]),
  );
}
