import sharp, { type OverlayOptions } from 'sharp';
import type { RgbImage } from '../image/types.js';
import { applyColormap, type ColormapName } from './colormap.js';
import { escapeXml } from './escape.js';
import { overlayHeatmap } from './overlay.js';

/** One panel of a figure: an image and an optional caption ('\n' breaks lines; long lines wrap to the tile width). */
export interface Tile {
  image: RgbImage;
  caption?: string;
}

export interface GridOptions {
  /** A bold title left of each row, one per row; default none. */
  rowTitles?: string[];
  /** Where captions go; default 'above' (like plt.title in the CS231n notebooks). */
  captionPosition?: 'above' | 'below';
}

const PADDING = 12; // px around the figure and between tiles
const FONT_SIZE = 15; // px
const LINE_HEIGHT = 20; // px
const CAPTION_GAP = 4; // px between a caption and its tile
// Generous average character advances of DejaVu Sans (regular, bold) in px, for wrapping and sizing text.
const CHAR_WIDTH = 0.6 * FONT_SIZE;
const BOLD_CHAR_WIDTH = 0.7 * FONT_SIZE;
const MAX_ROW_TITLE_WIDTH = 160; // px
const FONT_FAMILY = "'DejaVu Sans', sans-serif";

/** Lines of `text` broken at '\n' and wrapped at spaces (or mid-word, for longer words) to about `maxWidth` px. */
function wrapText(text: string, maxWidth: number, charWidth: number): string[] {
  const maxChars = Math.max(1, Math.floor(maxWidth / charWidth));
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (let word of paragraph.split(/\s+/).filter(Boolean)) {
      while (word.length > maxChars) {
        if (line) lines.push(line);
        lines.push(word.slice(0, maxChars));
        word = word.slice(maxChars);
        line = '';
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= maxChars) line += ' ' + word;
      else {
        lines.push(line);
        line = word;
      }
    }
    lines.push(line);
  }
  return lines;
}

function svgText(lines: string[], x: number, top: number, anchor: 'middle' | 'end', bold = false): string {
  return lines
    .map((line, i) => {
      const baseline = Math.round(top + i * LINE_HEIGHT + (LINE_HEIGHT + FONT_SIZE * 0.7) / 2);
      const weight = bold ? ' font-weight="bold"' : '';
      return `<text x="${x}" y="${baseline}" text-anchor="${anchor}"${weight}>${escapeXml(line)}</text>`;
    })
    .join('');
}

function checkImage(image: RgbImage, what: string): void {
  if (image.data.length !== image.width * image.height * 3)
    throw new Error(`${what}: ${image.data.length} bytes do not fill ${image.width}×${image.height} RGB`);
}

/** Tiles laid out in rows on a white background, with captions and row titles, as PNG bytes; tiles are centred in their cells. */
export async function gridFigure(rows: Tile[][], opts: GridOptions = {}): Promise<Uint8Array> {
  const nCols = Math.max(0, ...rows.map((r) => r.length));
  if (nCols === 0) throw new Error('gridFigure: no tiles');
  const { rowTitles } = opts;
  if (rowTitles && rowTitles.length !== rows.length)
    throw new Error(`gridFigure: ${rowTitles.length} row titles for ${rows.length} rows`);
  rows.forEach((row, r) => row.forEach((t, c) => checkImage(t.image, `gridFigure: tile [${r}][${c}]`)));

  const colWidths = Array.from({ length: nCols }, (_, c) =>
    Math.max(0, ...rows.map((row) => row[c]?.image.width ?? 0)),
  );
  const captionLines = rows.map((row) =>
    row.map((t, c) => (t.caption === undefined ? [] : wrapText(t.caption, colWidths[c], CHAR_WIDTH))),
  );
  const bandHeights = captionLines.map((lines) => {
    const n = Math.max(0, ...lines.map((l) => l.length));
    return n === 0 ? 0 : n * LINE_HEIGHT + CAPTION_GAP;
  });
  const tileHeights = rows.map((row) => Math.max(0, ...row.map((t) => t.image.height)));
  const titleLines = (rowTitles ?? []).map((t) => wrapText(t, MAX_ROW_TITLE_WIDTH, BOLD_CHAR_WIDTH));
  // Row titles are right-aligned in a column of this width, one PADDING left of the tiles.
  const titleWidth = rowTitles
    ? Math.ceil(Math.max(...titleLines.flat().map((l) => l.length)) * BOLD_CHAR_WIDTH)
    : 0;
  const tilesLeft = PADDING + (rowTitles ? titleWidth + PADDING : 0);

  const width = tilesLeft + colWidths.reduce((a, b) => a + b, 0) + (nCols - 1) * PADDING + PADDING;
  const height =
    PADDING +
    rows.reduce((sum, _, r) => sum + bandHeights[r] + tileHeights[r], 0) +
    (rows.length - 1) * PADDING +
    PADDING;

  const composites: OverlayOptions[] = [];
  const texts: string[] = [];
  const above = (opts.captionPosition ?? 'above') === 'above';
  let y = PADDING;
  rows.forEach((row, r) => {
    const tileTop = above ? y + bandHeights[r] : y;
    if (rowTitles) {
      const lines = titleLines[r];
      const top = tileTop + (tileHeights[r] - lines.length * LINE_HEIGHT) / 2;
      texts.push(svgText(lines, PADDING + titleWidth, top, 'end', true));
    }
    let x = tilesLeft;
    row.forEach((tile, c) => {
      const { image } = tile;
      const left = x + Math.floor((colWidths[c] - image.width) / 2);
      const top = tileTop + Math.floor((tileHeights[r] - image.height) / 2);
      composites.push({
        input: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength),
        raw: { width: image.width, height: image.height, channels: 3 },
        left,
        top,
      });
      const lines = captionLines[r][c];
      if (lines.length > 0) {
        // Captions hug their tile: bottom-aligned in the band above, top-aligned in the band below.
        const textTop = above
          ? tileTop - CAPTION_GAP - lines.length * LINE_HEIGHT
          : tileTop + tileHeights[r] + CAPTION_GAP;
        texts.push(svgText(lines, x + colWidths[c] / 2, textTop, 'middle'));
      }
      x += colWidths[c] + PADDING;
    });
    y += bandHeights[r] + tileHeights[r] + PADDING;
  });
  if (texts.length > 0) {
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<g font-family="${FONT_FAMILY}" font-size="${FONT_SIZE}" fill="#1a1a1a">${texts.join('')}</g></svg>`;
    composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  }
  const png = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .removeAlpha()
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

export interface SaliencyFigureOptions {
  /** Show each map blended on its image (`overlayHeatmap`, clipped at its 99th percentile) instead of on its own; default false. */
  overlay?: boolean;
  /** Default 'hot' on its own (as CS231n), 'jet' for the overlay. */
  colormap?: ColormapName;
}

/** CS231n's saliency figure as PNG bytes: captioned images in a row above their saliency maps (|map|, min..max). */
export async function saliencyFigure(
  images: RgbImage[],
  maps: Float32Array[],
  captions: string[],
  opts: SaliencyFigureOptions = {},
): Promise<Uint8Array> {
  if (maps.length !== images.length || captions.length !== images.length)
    throw new Error(
      `saliencyFigure: ${images.length} images, ${maps.length} maps, ${captions.length} captions`,
    );
  const heat = images.map((image, i) =>
    opts.overlay
      ? overlayHeatmap(image, maps[i], { colormap: opts.colormap, clipPercentile: 99 })
      : applyColormap(maps[i], image.width, image.height, { colormap: opts.colormap }),
  );
  return gridFigure(
    [images.map((image, i) => ({ image, caption: captions[i] })), heat.map((image) => ({ image }))],
    { rowTitles: ['Image', 'Saliency'] },
  );
}

/** `128 + gain·(b − a)` per channel, rounded and clipped to 0..255: a signed difference centred on mid-grey. */
export function differenceImage(a: RgbImage, b: RgbImage, gain = 1): RgbImage {
  if (a.width !== b.width || a.height !== b.height)
    throw new Error(`differenceImage: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  const data = new Uint8Array(a.data.length);
  for (let i = 0; i < data.length; i++)
    data[i] = Math.min(255, Math.max(0, Math.round(128 + gain * (b.data[i] - a.data[i]))));
  return { data, width: a.width, height: a.height };
}

export interface FoolingFigureInput {
  original: RgbImage;
  fooled: RgbImage;
  originalLabel: string;
  fooledLabel: string;
}

/** CS231n's fooling figure as PNG bytes: original | fooling image | difference | difference ×10 (mid-grey = no change). */
export async function foolingFigure(input: FoolingFigureInput): Promise<Uint8Array> {
  const { original, fooled } = input;
  return gridFigure([
    [
      { image: original, caption: `Original\n${input.originalLabel}` },
      { image: fooled, caption: `Fooling image\n${input.fooledLabel}` },
      { image: differenceImage(original, fooled), caption: 'Difference' },
      { image: differenceImage(original, fooled, 10), caption: 'Difference ×10' },
    ],
  ]);
}

export interface ClassVisualizationFrame {
  image: RgbImage;
  iteration: number;
}

/** Class-visualization snapshots side by side as PNG bytes, each captioned with the class and "Iteration t / total". */
export async function classVisualizationFigure(
  frames: ClassVisualizationFrame[],
  className: string,
  total: number,
): Promise<Uint8Array> {
  return gridFigure([
    frames.map(({ image, iteration }) => ({
      image,
      caption: `${className}\nIteration ${iteration} / ${total}`,
    })),
  ]);
}
