import { escapeXml } from './escape.js';

export interface ReportFigure {
  /** Image file name relative to the HTML file. */
  src: string;
  alt: string;
  caption?: string;
}

export interface ReportSection {
  title: string;
  /** Plain text; blank lines separate paragraphs, and `backticks` mark code. */
  text?: string;
  figures: ReportFigure[];
}

export interface Report {
  title: string;
  sections: ReportSection[];
  /** Shown as a key/value table under the title (model, date, settings...). */
  meta?: Record<string, string>;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1d2330;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.9rem;margin:8px 0 12px}
h2{font-size:1.35rem;margin:0 0 10px}
section{background:#fff;border:1px solid #e1e4ea;border-radius:10px;padding:20px;margin:20px 0}
p{margin:0 0 10px;max-width:75ch}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0;font-size:.92rem}
dl.meta dt{color:#5b6475;font-weight:600}
dl.meta dd{margin:0;overflow-wrap:anywhere}
figure{margin:16px 0 0}
figure img{display:block;max-width:100%;height:auto;border:1px solid #e1e4ea;border-radius:4px;background:#fff}
figcaption{color:#5b6475;font-size:.92rem;margin-top:6px}
@media (max-width:600px){main{padding:12px 8px 32px}section{padding:14px}h1{font-size:1.5rem}}
`;

function paragraphs(text: string): string {
  return (
    text
      .split(/\n\s*\n/)
      .map((p) => p.trim())
      .filter(Boolean)
      // `code` spans (commands, flags) as <code>; everything else stays escaped text.
      .map((p) => `<p>${escapeXml(p).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>`)
      .join('\n')
  );
}

function figureHtml(fig: ReportFigure): string {
  if (/^([a-z][a-z0-9+.-]*:|\/)/i.test(fig.src))
    throw new Error(`renderReportHtml: figure src '${fig.src}' is not a relative path`);
  const caption = fig.caption === undefined ? '' : `\n<figcaption>${escapeXml(fig.caption)}</figcaption>`;
  return `<figure>\n<img src="${escapeXml(fig.src)}" alt="${escapeXml(fig.alt)}" loading="lazy">${caption}\n</figure>`;
}

/** A self-contained responsive HTML page (inline CSS, no scripts or external assets; all text escaped) whose images are relative files. */
export function renderReportHtml(report: Report): string {
  const meta = Object.entries(report.meta ?? {});
  const metaHtml =
    meta.length === 0
      ? ''
      : `<dl class="meta">\n${meta.map(([k, v]) => `<dt>${escapeXml(k)}</dt><dd>${escapeXml(v)}</dd>`).join('\n')}\n</dl>\n`;
  const sections = report.sections.map((s) =>
    [
      `<section>`,
      `<h2>${escapeXml(s.title)}</h2>`,
      s.text ? paragraphs(s.text) : '',
      ...s.figures.map(figureHtml),
      `</section>`,
    ]
      .filter(Boolean)
      .join('\n'),
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(report.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeXml(report.title)}</h1>
${metaHtml}${sections.join('\n')}
</main>
</body>
</html>
`;
}
