import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, relative, resolve } from 'node:path';
import { DatasetError } from './errors.js';

/** One image of a dataset and what the manifest says about it. */
export interface DatasetItem {
  /** Absolute path of the image file. */
  path: string;
  /** The path as shown in tables: relative to the folder or the manifest. */
  name: string;
  /** The class to explain (index, WordNet id or name); absent: the model's prediction. */
  label?: string;
  /** Object box [x0, y0, x1, y1] in pixels of the original image (x1, y1 exclusive). */
  box?: [number, number, number, number];
  /** Absolute path of a mask image (non-zero = object), the size of the image. */
  mask?: string;
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** Splits one CSV line into fields (RFC 4180 quoting: "a,b" and "" inside quotes). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields.map((f) => f.trim());
}

function parseBox(value: unknown, where: string): DatasetItem['box'] {
  const nums = Array.isArray(value)
    ? value
    : String(value)
        .trim()
        .split(/[\s;]+/)
        .map(Number);
  if (
    nums.length !== 4 ||
    !nums.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0) ||
    nums[2] <= nums[0] ||
    nums[3] <= nums[1]
  )
    throw new DatasetError(
      `${where}: box ${JSON.stringify(value)}, expected four numbers x0 y0 x1 y1 with x1 > x0 and y1 > y0`,
    );
  return nums as [number, number, number, number];
}

function itemFrom(record: Record<string, unknown>, base: string, where: string): DatasetItem {
  const file = record.path;
  if (typeof file !== 'string' || file === '') throw new DatasetError(`${where}: no 'path'`);
  const path = resolve(base, file);
  if (!existsSync(path)) throw new DatasetError(`${where}: image ${path} does not exist`);
  const item: DatasetItem = { path, name: file };
  const label = record.label;
  if (label !== undefined && label !== null && String(label).trim() !== '') item.label = String(label).trim();
  if (record.box !== undefined && record.box !== null && String(record.box).trim() !== '')
    item.box = parseBox(record.box, where);
  if (typeof record.mask === 'string' && record.mask.trim() !== '') {
    item.mask = resolve(base, record.mask.trim());
    if (!existsSync(item.mask)) throw new DatasetError(`${where}: mask ${item.mask} does not exist`);
  }
  return item;
}

/**
 * The images of a benchmark: every JPEG, PNG or WebP file in a folder (sorted by name, no labels: each image's
 * predicted class is explained), or the rows of a manifest: CSV with a header (`path`, optional `label`, `box` as
 * "x0 y0 x1 y1", `mask`) or JSON Lines (`{"path", "label"?, "box"?: [x0, y0, x1, y1], "mask"?}`), paths relative
 * to the manifest. Throws DatasetError naming the file and line when something is missing or malformed.
 */
export async function readDataset(source: string): Promise<DatasetItem[]> {
  if (!existsSync(source))
    throw new DatasetError(`${source} does not exist (expected a folder or a manifest)`);
  if (statSync(source).isDirectory()) {
    const names = (await readdir(source))
      .filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase()))
      .sort();
    if (names.length === 0) throw new DatasetError(`${source}: no .jpg, .jpeg, .png or .webp images`);
    return names.map((n) => ({ path: resolve(source, n), name: n }));
  }
  const base = dirname(resolve(source));
  const text = await readFile(source, 'utf8');
  const lines = text.split(/\r?\n/);
  const items: DatasetItem[] = [];
  const ext = extname(source).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') {
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      const where = `${basename(source)}:${i + 1}`;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch (err) {
        throw new DatasetError(`${where}: not JSON (${(err as Error).message})`);
      }
      if (typeof record !== 'object' || record === null || Array.isArray(record))
        throw new DatasetError(`${where}: expected an object like {"path": "cat.jpg", "label": "tabby"}`);
      items.push(itemFrom(record as Record<string, unknown>, base, where));
    });
  } else if (ext === '.csv') {
    const header = csvFields(lines[0] ?? '').map((h) => h.toLowerCase());
    if (!header.includes('path'))
      throw new DatasetError(
        `${basename(source)}:1: the header needs a 'path' column (and optional label, box, mask)`,
      );
    lines.slice(1).forEach((line, i) => {
      if (!line.trim()) return;
      const where = `${basename(source)}:${i + 2}`;
      const fields = csvFields(line);
      if (fields.length !== header.length)
        throw new DatasetError(`${where}: ${fields.length} fields, the header has ${header.length}`);
      items.push(itemFrom(Object.fromEntries(header.map((h, j) => [h, fields[j]])), base, where));
    });
  } else throw new DatasetError(`${source}: expected a folder of images, a .csv or a .jsonl manifest`);
  if (items.length === 0) throw new DatasetError(`${source}: no images listed`);
  const seen = new Map<string, number>();
  for (const [i, item] of items.entries()) {
    const first = seen.get(item.path);
    if (first !== undefined)
      throw new DatasetError(
        `${basename(source)}: ${relative(base, item.path)} is listed twice (rows ${first + 1} and ${i + 1})`,
      );
    seen.set(item.path, i);
  }
  return items;
}
