import { escapeXml } from './escape.js';

/** A mean with its confidence interval and the number of images behind it. */
export interface Estimate {
  mean: number;
  low: number;
  high: number;
  n: number;
}

/** A metric column of the leaderboard. */
export interface LeaderboardMetric {
  /** As given on the command line, with options (e.g. `pixel-flipping[features-in-step=224]`). */
  label: string;
  title: string;
  category: string;
  direction: 'higher' | 'lower';
  paper: string;
}

/** One image of the drill-down: its figure (the image and each method's map) and its values. */
export interface LeaderboardImage {
  name: string;
  /** The class explained, as shown. */
  label: string;
  /** Figure file relative to the HTML page. */
  figure: string;
  /** values[method][metric]. */
  values: Record<string, Record<string, number>>;
}

/** Everything a leaderboard page shows. */
export interface Leaderboard {
  title: string;
  /** Key/value lines under the title (model, images, settings, how intervals were made). */
  meta: Record<string, string>;
  /** Method labels in table order. */
  methods: string[];
  metrics: LeaderboardMetric[];
  /** estimates[method][metric]. */
  estimates: Record<string, Record<string, Estimate>>;
  images: LeaderboardImage[];
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1d2330;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1280px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.8rem;margin:8px 0 12px}
h2{font-size:1.3rem;margin:0 0 10px}
section{background:#fff;border:1px solid #e1e4ea;border-radius:10px;padding:20px;margin:20px 0;overflow-x:auto}
p{margin:0 0 10px;max-width:80ch}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0;font-size:.92rem}
dl.meta dt{color:#5b6475;font-weight:600}
dl.meta dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.92rem}
th,td{padding:6px 10px;border-bottom:1px solid #e8eaef;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{background:#f1f3f6;vertical-align:bottom}
th.category{text-align:center;border-bottom:2px solid #c9ced8}
td.best{font-weight:700;background:#eef6ee}
small{color:#5b6475}
.plots{display:flex;flex-wrap:wrap;gap:20px}
figure{margin:0}
figcaption{color:#5b6475;font-size:.9rem;margin-top:4px}
details{border-top:1px solid #e8eaef;padding:8px 0}
summary{cursor:pointer;font-weight:600}
details img{display:block;max-width:100%;height:auto;margin:10px 0}
`;

const fmt = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(3)).toString() : '–');
const arrow = (d: 'higher' | 'lower') => (d === 'higher' ? '↑' : '↓');

/** The method with the best mean for a metric, by its direction; undefined when none is finite. */
function bestMethod(board: Leaderboard, metric: LeaderboardMetric): string | undefined {
  let best: string | undefined;
  for (const m of board.methods) {
    const v = board.estimates[m]?.[metric.label]?.mean;
    if (!Number.isFinite(v)) continue;
    const b = best === undefined ? undefined : board.estimates[best][metric.label].mean;
    if (b === undefined || (metric.direction === 'higher' ? v > b : v < b)) best = m;
  }
  return best;
}

function categories(metrics: LeaderboardMetric[]): [string, LeaderboardMetric[]][] {
  const groups = new Map<string, LeaderboardMetric[]>();
  for (const m of metrics) groups.set(m.category, [...(groups.get(m.category) ?? []), m]);
  return [...groups];
}

function table(board: Leaderboard): string {
  const groups = categories(board.metrics);
  const ordered = groups.flatMap(([, ms]) => ms);
  const best = new Map(ordered.map((m) => [m.label, bestMethod(board, m)]));
  const head1 = groups
    .map(([c, ms]) => `<th class="category" colspan="${ms.length}">${escapeXml(c)}</th>`)
    .join('');
  const head2 = ordered
    .map(
      (m) =>
        `<th title="${escapeXml(`${m.title} (${m.paper})`)}">${escapeXml(m.label)} ${arrow(m.direction)}<br><small>${m.direction} is better</small></th>`,
    )
    .join('');
  const rows = board.methods.map((method) => {
    const cells = ordered.map((m) => {
      const e = board.estimates[method]?.[m.label];
      const cls = best.get(m.label) === method ? ' class="best"' : '';
      return e
        ? `<td${cls}>${fmt(e.mean)}<br><small>[${fmt(e.low)}, ${fmt(e.high)}]</small></td>`
        : '<td>–</td>';
    });
    return `<tr><th scope="row">${escapeXml(method)}</th>${cells.join('')}</tr>`;
  });
  return `<table>
<thead><tr><th rowspan="2">method</th>${head1}</tr><tr>${head2}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/** One category's plot as inline SVG: per metric a panel, per method a dot at the mean with its interval. */
function categoryPlot(board: Leaderboard, category: string, metrics: LeaderboardMetric[]): string {
  const panelW = 260;
  const rowH = 26;
  const left = 150;
  const top = 44;
  const height = top + board.methods.length * rowH + 34;
  const width = left + metrics.length * (panelW + 60);
  const parts: string[] = [];
  board.methods.forEach((method, r) => {
    const y = top + r * rowH + rowH / 2;
    parts.push(
      `<text x="${left - 10}" y="${y + 4}" text-anchor="end" font-size="13">${escapeXml(method)}</text>`,
    );
  });
  metrics.forEach((metric, k) => {
    const x0 = left + k * (panelW + 60);
    const es = board.methods
      .map((m) => board.estimates[m]?.[metric.label])
      .filter((e) => e && Number.isFinite(e.mean));
    let lo = Math.min(...es.map((e) => e!.low));
    let hi = Math.max(...es.map((e) => e!.high));
    if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
    const pad = (hi - lo) * 0.08;
    lo -= pad;
    hi += pad;
    const sx = (v: number) => x0 + ((v - lo) / (hi - lo)) * panelW;
    parts.push(
      `<text x="${x0 + panelW / 2}" y="18" text-anchor="middle" font-size="13" font-weight="600">${escapeXml(metric.label)} ${arrow(metric.direction)}</text>`,
      `<text x="${x0 + panelW / 2}" y="34" text-anchor="middle" font-size="11" fill="#5b6475">${metric.direction} is better</text>`,
      `<rect x="${x0}" y="${top}" width="${panelW}" height="${board.methods.length * rowH}" fill="#fafbfc" stroke="#d5d9e0"/>`,
    );
    for (const t of [lo + pad, (lo + hi) / 2, hi - pad]) {
      const x = sx(t);
      const yb = top + board.methods.length * rowH;
      parts.push(
        `<line x1="${x}" x2="${x}" y1="${top}" y2="${yb}" stroke="#e3e6eb"/>`,
        `<text x="${x}" y="${yb + 16}" text-anchor="middle" font-size="11" fill="#5b6475">${fmt(t)}</text>`,
      );
    }
    board.methods.forEach((method, r) => {
      const e = board.estimates[method]?.[metric.label];
      if (!e || !Number.isFinite(e.mean)) return;
      const y = top + r * rowH + rowH / 2;
      const c = COLORS[r % COLORS.length];
      parts.push(
        `<line x1="${sx(e.low)}" x2="${sx(e.high)}" y1="${y}" y2="${y}" stroke="${c}" stroke-width="2"/>`,
        `<circle cx="${sx(e.mean)}" cy="${y}" r="4.5" fill="${c}"><title>${escapeXml(`${method}: ${fmt(e.mean)} [${fmt(e.low)}, ${fmt(e.high)}], ${e.n} images`)}</title></circle>`,
      );
    });
  });
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="'DejaVu Sans',sans-serif" role="img" aria-label="${escapeXml(category)} metrics by method">${parts.join('')}</svg>
<figcaption>${escapeXml(category)}: mean over images (dot) and its 95% bootstrap interval (line), per metric on its own scale.</figcaption></figure>`;
}

function drillDown(board: Leaderboard): string {
  return board.images
    .map((img) => {
      const head = board.metrics.map((m) => `<th>${escapeXml(m.label)} ${arrow(m.direction)}</th>`).join('');
      const rows = board.methods
        .map(
          (method) =>
            `<tr><th scope="row">${escapeXml(method)}</th>${board.metrics
              .map((m) => `<td>${fmt(img.values[method]?.[m.label] ?? NaN)}</td>`)
              .join('')}</tr>`,
        )
        .join('\n');
      return `<details><summary>${escapeXml(img.name)} <small>(explaining ${escapeXml(img.label)})</small></summary>
<img src="${escapeXml(img.figure)}" alt="${escapeXml(`${img.name} and its maps`)}" loading="lazy">
<table><thead><tr><th>method</th>${head}</tr></thead><tbody>
${rows}
</tbody></table></details>`;
    })
    .join('\n');
}

/**
 * The leaderboard page: method × metric table (mean and 95% bootstrap interval, the best per metric in bold, each
 * metric's direction stated), one plot per metric category (inline SVG), and a per-image drill-down with the maps
 * (relative image files, loaded lazily). Self-contained HTML without scripts; all text escaped.
 */
export function renderLeaderboardHtml(board: Leaderboard): string {
  const meta = Object.entries(board.meta)
    .map(([k, v]) => `<dt>${escapeXml(k)}</dt><dd>${escapeXml(v)}</dd>`)
    .join('\n');
  const plots = categories(board.metrics)
    .map(([c, ms]) => categoryPlot(board, c, ms))
    .join('\n');
  const papers = board.metrics.map((m) => `${m.label}: ${m.title} (${m.paper})`).join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(board.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeXml(board.title)}</h1>
<dl class="meta">
${meta}
</dl>
<section>
<h2>Leaderboard</h2>
<p>Each cell is the mean over images and, below it, its 95% percentile-bootstrap confidence interval. ↑: higher is better; ↓: lower is better; the best mean of each metric is in bold. Metrics: ${escapeXml(papers)}.</p>
${table(board)}
</section>
<section>
<h2>By category</h2>
<div class="plots">
${plots}
</div>
</section>
<section>
<h2>Per image</h2>
<p>Each image with its map from every method (clipped at the 99th percentile; the CAMs blended on the image) and its metric values.</p>
${drillDown(board)}
</section>
</main>
</body>
</html>
`;
}
