export {
  COLORMAP_NAMES,
  applyColormap,
  colorize,
  colormapLut,
  normalizeMap,
  type ColormapName,
  type ColormapOptions,
  type NormalizeOptions,
  type SignMode,
} from './colormap.js';
export { overlayHeatmap, type OverlayOptions } from './overlay.js';
export {
  classVisualizationFigure,
  differenceImage,
  foolingFigure,
  gridFigure,
  saliencyFigure,
  type ClassVisualizationFrame,
  type FoolingFigureInput,
  type GridOptions,
  type SaliencyFigureOptions,
  type Tile,
} from './figure.js';
export { encodeGif, type GifOptions } from './animation.js';
export { renderReportHtml, type Report, type ReportFigure, type ReportSection } from './report.js';
export { escapeXml } from './escape.js';
