import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { UsageError } from './errors.js';

/** One image a command works on, and the label its manifest gives it (index, WordNet id or name). */
export interface ImageInput {
  path: string;
  label?: string;
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** A manifest's rows: JSON Lines `{"path", "label"?}` or CSV with a header naming `path` (and `label`); paths relative to it. */
async function readManifest(file: string): Promise<ImageInput[]> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/);
  const base = dirname(resolve(file));
  const rows: ImageInput[] = [];
  const add = (path: unknown, label: unknown, line: number) => {
    if (typeof path !== 'string' || path.trim() === '')
      throw new UsageError(`${file}:${line}: no image path (expected a 'path' field)`);
    const text = label === undefined || label === null ? '' : String(label).trim();
    rows.push({ path: resolve(base, path.trim()), ...(text && { label: text }) });
  };
  if (extname(file).toLowerCase() === '.jsonl') {
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      let row: { path?: unknown; label?: unknown };
      try {
        row = JSON.parse(line) as typeof row;
      } catch {
        throw new UsageError(`${file}:${i + 1}: not JSON (expected {"path": "cat.jpg", "label": "tabby"})`);
      }
      add(row.path, row.label, i + 1);
    });
  } else {
    const header = lines[0].split(',').map((h) => h.trim().toLowerCase());
    const [pathAt, labelAt] = [header.indexOf('path'), header.indexOf('label')];
    if (pathAt < 0)
      throw new UsageError(`${file}:1: the header needs a 'path' column (and an optional 'label')`);
    lines.slice(1).forEach((line, i) => {
      if (!line.trim()) return;
      const fields = line.split(',');
      add(fields[pathAt], labelAt >= 0 ? fields[labelAt] : undefined, i + 2);
    });
  }
  if (rows.length === 0) throw new UsageError(`${file}: lists no images`);
  return rows;
}

/**
 * The images named on a command line: image files as given, every JPEG, PNG or WebP file of a folder (sorted by
 * name), and the rows of a manifest (.csv or .jsonl). Throws a UsageError for a missing path, an empty folder or
 * a malformed manifest.
 */
export async function imageInputs(args: readonly string[]): Promise<ImageInput[]> {
  const out: ImageInput[] = [];
  for (const arg of args) {
    const info = await stat(arg).catch(() => undefined);
    if (info?.isDirectory()) {
      const names = (await readdir(arg)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
      if (names.length === 0)
        throw new UsageError(`${arg}: the folder holds no .jpg, .jpeg, .png or .webp images`);
      out.push(...names.map((n) => ({ path: join(arg, n) })));
    } else if (['.csv', '.jsonl'].includes(extname(arg).toLowerCase())) {
      if (!info) throw new UsageError(`${arg}: no such manifest`);
      out.push(...(await readManifest(arg)));
    } else out.push({ path: arg });
  }
  return out;
}

/** The WordNet id a file name starts with (`n01774750_tarantula.JPEG`), or undefined. */
export function wnidOf(path: string): string | undefined {
  return /^n\d{8}/.exec(basename(path))?.[0];
}
