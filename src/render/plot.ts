import sharp from 'sharp';
import { escapeXml } from './escape.js';

/** One line of a plot: points (x[i], y[i]) joined in order, with a legend label. */
export interface PlotSeries {
  x: readonly number[];
  y: readonly number[];
  label?: string;
}

/** Titles, size and axes of a line plot. */
export interface LinePlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Figure size in px; default 640×420. */
  width?: number;
  height?: number;
  /** Y axis range; default from the data (with 0 included). */
  yRange?: [number, number];
  /** X tick positions; default evenly spaced round numbers. */
  xTicks?: readonly number[];
  /** Y values formatted as percentages (0.5 → 50 %); default false. */
  percent?: boolean;
}

const FONT_FAMILY = "'DejaVu Sans', sans-serif";
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/** About `count` round tick values (1, 2 or 5 × 10^k apart) covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

const format = (v: number) => String(Number(v.toPrecision(4)));

/** Line plot of one or more series with axes, ticks, grid, markers and a legend, as PNG bytes (text in DejaVu Sans). */
export async function linePlot(
  series: readonly PlotSeries[],
  opts: LinePlotOptions = {},
): Promise<Uint8Array> {
  if (series.length === 0) throw new Error('linePlot: no series');
  for (const [i, s] of series.entries()) {
    if (s.x.length !== s.y.length || s.x.length === 0)
      throw new Error(`linePlot: series ${i} has ${s.x.length} x and ${s.y.length} y values`);
    if ([...s.x, ...s.y].some((v) => !Number.isFinite(v)))
      throw new Error(`linePlot: series ${i} has a non-finite value`);
  }
  const width = opts.width ?? 640;
  const height = opts.height ?? 420;
  const left = 78;
  const right = 24;
  const top = opts.title ? 46 : 20;
  const bottom = 62;
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => s.y);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  let [y0, y1] = opts.yRange ?? [Math.min(0, ...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * plotW;
  const py = (y: number) => top + (1 - (y - y0) / (y1 - y0)) * plotH;
  const fmtY = (v: number) => (opts.percent ? `${format(v * 100)} %` : format(v));
  const parts: string[] = [];
  const xTicks = (opts.xTicks ?? niceTicks(x0, x1)).filter((t) => t >= x0 - 1e-9 && t <= x1 + 1e-9);
  for (const t of niceTicks(y0, y1, 5)) {
    const y = py(t).toFixed(1);
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${left - 8}" y="${y}" dy="0.35em" text-anchor="end">${escapeXml(fmtY(t))}</text>`);
  }
  for (const t of xTicks) {
    const x = px(t).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${top + plotH}" stroke="#efefef"/>`);
    parts.push(`<text x="${x}" y="${top + plotH + 20}" text-anchor="middle">${escapeXml(format(t))}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const points = s.x.map((x, j) => `${px(x).toFixed(1)},${py(s.y[j]).toFixed(1)}`);
    parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="2.5"/>`);
    for (const pt of points) {
      const [cx, cy] = pt.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="4" fill="${color}"/>`);
    }
  });
  const labelled = series.filter((s) => s.label);
  if (labelled.length > 0) {
    // Top right, on a white box sized by a generous DejaVu Sans advance (0.62 em per character).
    const boxW = 44 + Math.max(...labelled.map((s) => s.label!.length)) * 0.62 * 14;
    const boxX = left + plotW - 10 - boxW;
    parts.push(
      `<rect x="${boxX.toFixed(1)}" y="${top + 8}" width="${boxW.toFixed(1)}" height="${labelled.length * 20 + 8}" fill="#ffffff" fill-opacity="0.9" stroke="#cccccc"/>`,
    );
    labelled.forEach((s, i) => {
      const y = top + 22 + i * 20;
      const color = COLORS[series.indexOf(s) % COLORS.length];
      parts.push(
        `<line x1="${boxX + 8}" x2="${boxX + 32}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="2.5"/>`,
      );
      parts.push(`<text x="${boxX + 38}" y="${y}" dy="0.35em">${escapeXml(s.label!)}</text>`);
    });
  }
  if (opts.title)
    parts.push(
      `<text x="${width / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold">${escapeXml(opts.title)}</text>`,
    );
  if (opts.xLabel)
    parts.push(
      `<text x="${left + plotW / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(opts.xLabel)}</text>`,
    );
  if (opts.yLabel)
    parts.push(
      `<text transform="translate(20 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(opts.yLabel)}</text>`,
    );
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect width="100%" height="100%" fill="#ffffff"/>` +
    `<g font-family="${FONT_FAMILY}" font-size="14" fill="#1a1a1a">${parts.join('')}</g></svg>`;
  const png = await sharp(Buffer.from(svg)).removeAlpha().png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
