import { interpolateRdBu, interpolateViridis } from 'd3-scale-chromatic';
import type { RgbImage } from '../image/types.js';

/** Colormaps for scalar maps: matplotlib's `hot`, `jet`, `viridis`, and the diverging `RdBu_r` (blue < 0 < red). */
export type ColormapName = 'hot' | 'jet' | 'viridis' | 'RdBu_r';

/** Which part of a signed map is shown: its magnitude, its positive or negative part, or all of it centred at 0. */
export type SignMode = 'absolute' | 'positive' | 'negative' | 'all';

export const COLORMAP_NAMES: readonly ColormapName[] = ['hot', 'jet', 'viridis', 'RdBu_r'];

export interface NormalizeOptions {
  /** Which part of the map is shown; default 'absolute'. */
  sign?: SignMode;
  /** Percentile (0..100] of the shown values that maps to the top colour; larger values saturate. Default 100 (min..max, as plt.imshow). */
  clipPercentile?: number;
}

export interface ColormapOptions extends NormalizeOptions {
  /** Default 'hot', or 'RdBu_r' for sign 'all'. */
  colormap?: ColormapName;
}

/** matplotlib's piecewise-linear channel definitions (`_cm.py`): [x, y] breakpoints per channel. */
type Segments = readonly (readonly [number, number])[];

const SEGMENT_DATA: Record<'hot' | 'jet', readonly [Segments, Segments, Segments]> = {
  hot: [
    [
      [0, 0.0416],
      [0.365079, 1],
      [1, 1],
    ],
    [
      [0, 0],
      [0.365079, 0],
      [0.746032, 1],
      [1, 1],
    ],
    [
      [0, 0],
      [0.746032, 0],
      [1, 1],
    ],
  ],
  jet: [
    [
      [0, 0],
      [0.35, 0],
      [0.66, 1],
      [0.89, 1],
      [1, 0.5],
    ],
    [
      [0, 0],
      [0.125, 0],
      [0.375, 1],
      [0.64, 1],
      [0.91, 0],
      [1, 0],
    ],
    [
      [0, 0.5],
      [0.11, 1],
      [0.34, 1],
      [0.65, 0],
      [1, 0],
    ],
  ],
};

const LUT_SIZE = 256;
const luts = new Map<ColormapName, Uint8Array>();

function segmentValue(segments: Segments, x: number): number {
  for (let i = 1; i < segments.length; i++) {
    const [x1, y1] = segments[i];
    if (x <= x1) {
      const [x0, y0] = segments[i - 1];
      return y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
    }
  }
  return segments[segments.length - 1][1];
}

/** Parses d3's colour strings, '#rrggbb' or 'rgb(r, g, b)'. */
function parseCssColor(css: string): [number, number, number] {
  if (css.startsWith('#'))
    return [1, 3, 5].map((i) => parseInt(css.slice(i, i + 2), 16)) as [number, number, number];
  const m = /^rgb\((\d+), (\d+), (\d+)\)$/.exec(css);
  if (!m) throw new Error(`colormap: cannot parse colour ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function buildLut(name: ColormapName): Uint8Array {
  const lut = new Uint8Array(LUT_SIZE * 3);
  for (let i = 0; i < LUT_SIZE; i++) {
    const x = i / (LUT_SIZE - 1);
    let rgb: number[];
    if (name === 'hot' || name === 'jet')
      rgb = SEGMENT_DATA[name].map((s) => Math.round(255 * segmentValue(s, x)));
    else if (name === 'viridis') rgb = parseCssColor(interpolateViridis(x));
    else rgb = parseCssColor(interpolateRdBu(1 - x));
    lut.set(rgb, i * 3);
  }
  return lut;
}

/** The colormap as a 256-entry lookup table of interleaved RGB bytes (768 bytes; cached, do not modify). */
export function colormapLut(name: ColormapName): Uint8Array {
  let lut = luts.get(name);
  if (!lut) {
    if (!COLORMAP_NAMES.includes(name)) throw new Error(`colormap: unknown colormap '${name}'`);
    lut = buildLut(name);
    luts.set(name, lut);
  }
  return lut;
}

function lutIndex(t: number): number {
  return Math.min(LUT_SIZE - 1, Math.max(0, Math.floor(t * LUT_SIZE)));
}

/** The `p`-th percentile (0..100) of `values`, interpolated linearly between order statistics like numpy's default. */
function percentile(values: Float32Array, p: number): number {
  if (values.length === 0) throw new Error('percentile: no values');
  const sorted = Float32Array.from(values).sort();
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Map values scaled to [0, 1]. For sign 'absolute' | 'positive' | 'negative' the shown part runs from its minimum
 * (→ 0) to its `clipPercentile`-th percentile (→ 1, larger values saturate); for 'all' the map is scaled symmetrically
 * so 0 → 0.5 and ±(percentile of |map|) → 0 / 1. A constant map gives all 0 (0.5 for 'all').
 */
export function normalizeMap(map: Float32Array, opts: NormalizeOptions = {}): Float32Array {
  const sign = opts.sign ?? 'absolute';
  const p = opts.clipPercentile ?? 100;
  if (!(p > 0 && p <= 100)) throw new Error(`normalizeMap: clipPercentile ${p} is not in (0, 100]`);
  const out = new Float32Array(map.length);
  if (sign === 'all') {
    const abs = map.map(Math.abs);
    const m = percentile(abs, p);
    for (let i = 0; i < map.length; i++)
      out[i] = m > 0 ? Math.min(1, Math.max(0, 0.5 + map[i] / (2 * m))) : 0.5;
    return out;
  }
  const shown =
    sign === 'absolute'
      ? map.map(Math.abs)
      : sign === 'positive'
        ? map.map((v) => Math.max(v, 0))
        : map.map((v) => Math.max(-v, 0));
  let lo = Infinity;
  for (const v of shown) lo = Math.min(lo, v);
  const hi = p === 100 ? shown.reduce((a, b) => Math.max(a, b), -Infinity) : percentile(shown, p);
  const range = hi - lo;
  for (let i = 0; i < shown.length; i++) out[i] = range > 0 ? Math.min(1, (shown[i] - lo) / range) : 0;
  return out;
}

/** Values in [0, 1] (clamped) coloured through the colormap's 256 bins, like matplotlib; `t` is row-major width×height. */
export function colorize(t: Float32Array, width: number, height: number, name: ColormapName): RgbImage {
  if (t.length !== width * height)
    throw new Error(`colorize: ${t.length} values do not fill ${width}×${height}`);
  const lut = colormapLut(name);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < t.length; i++) {
    const j = lutIndex(t[i]) * 3;
    data[i * 3] = lut[j];
    data[i * 3 + 1] = lut[j + 1];
    data[i * 3 + 2] = lut[j + 2];
  }
  return { data, width, height };
}

/** A width×height scalar map (row-major) coloured after `normalizeMap`; defaults: 'hot' ('RdBu_r' for sign 'all'), |map|, min..max. */
export function applyColormap(
  map: Float32Array,
  width: number,
  height: number,
  opts: ColormapOptions = {},
): RgbImage {
  if (map.length !== width * height)
    throw new Error(`applyColormap: ${map.length} values do not fill ${width}×${height}`);
  return colorize(
    normalizeMap(map, opts),
    width,
    height,
    opts.colormap ?? (opts.sign === 'all' ? 'RdBu_r' : 'hot'),
  );
}
