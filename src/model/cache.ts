// The user's model cache: `netvis models add|remove|list`, and `--model URL`.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { decodeModel, ModelError } from '../onnx/proto.js';
import { externalDataFiles } from '../onnx/external-data.js';
import { fetchTo, isUrl, type DownloadProgress } from './download.js';
import { cacheDir, modelSearchPath, ModelNotFoundError } from './find.js';
import type { ModelSidecar } from './open.js';
import { SHIPPED_MODEL_DIR, SHIPPED_MODELS } from './shipped.js';

export { isUrl as isModelUrl, type DownloadProgress } from './download.js';

/** Where a model in the cache came from, as `netvis models add` records it in the sidecar. */
export interface CacheRecord {
  /** The URL or absolute path it was added from. */
  source: string;
  /** SHA-256 of the .onnx file. */
  sha256: string;
}

/** What `addModel` takes besides the model's URL or path. */
export interface AddOptions {
  /** Name in the cache; default: the file name without `.onnx`. */
  name?: string;
  /** Expected SHA-256 of the .onnx file (hex); the download is refused when it differs. */
  sha256?: string;
  /** Labels JSON (URL, path, or `imagenet` for the ImageNet labels netvis ships). */
  labels?: string;
  /** Sidecar JSON (URL or path); its `labels` file, if named, is fetched from beside it. */
  sidecar?: string;
  /** Progress of each file: its name, bytes so far and total. */
  onProgress?: (file: string, received: number, total: number | undefined) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Checks the staged model (e.g. by loading it) before it is committed; throws to refuse it. */
  verify?: (modelPath: string) => Promise<void>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The cache name a model URL or path gets by default: its file name without `.onnx`. */
export function defaultModelName(ref: string): string {
  const file = isUrl(ref) ? decodeURIComponent(new URL(ref).pathname.split('/').pop() ?? '') : basename(ref);
  return basename(file, extname(file) === '.onnx' ? '.onnx' : '');
}

/** `ref` resolved against `base` (a URL or a file path). */
function beside(base: string, ref: string): string {
  if (isUrl(ref)) return ref;
  return isUrl(base) ? new URL(ref, base).href : resolve(dirname(base), ref);
}

/**
 * Adds a model to the cache as `CACHE/NAME/` (NAME.onnx, its external data, NAME.json, NAME.labels.json): fetches
 * (http/https) or copies the model, checks `sha256` when given, fetches external data files, the sidecar and the
 * labels from beside it, checks the whole with `verify`, and only then moves the folder into place in one rename, so a
 * failed, refused or interrupted add leaves nothing in the cache. Returns the .onnx path. Throws a DownloadError for
 * transfer and checksum failures, a ModelError for an unusable name, model or labels.
 */
export async function addModel(ref: string, options: AddOptions = {}): Promise<string> {
  const name = options.name ?? defaultModelName(ref);
  if (!NAME.test(name))
    throw new ModelError(
      `model name '${name}' must be letters, digits, '.', '_' or '-' (give one with --name)`,
    );
  if (SHIPPED_MODELS[name])
    throw new ModelError(`'${name}' is the name of the model netvis ships; pick another with --name`);
  const root = cacheDir(options.env);
  const target = join(root, name);
  if (existsSync(target) || existsSync(join(root, `${name}.onnx`)))
    throw new ModelError(
      `a model named '${name}' is already in ${root}; remove it first (netvis models remove ${name})`,
    );
  await mkdir(root, { recursive: true });
  const staging = await mkdtemp(join(root, `.${name}.partial-`));
  const source = isUrl(ref) ? ref : resolve(ref);
  const progress =
    (file: string): DownloadProgress =>
    (received, total) =>
      options.onProgress?.(file, received, total);
  const get = (from: string, to: string, sha256?: string) =>
    fetchTo(from, join(staging, to), { sha256, signal: options.signal, onProgress: progress(to) });
  try {
    const modelFile = `${name}.onnx`;
    const { sha256 } = await get(source, modelFile, options.sha256);
    const model = decodeModel(await readFile(join(staging, modelFile)), source);
    for (const location of externalDataFiles(model, source)) {
      await mkdir(dirname(join(staging, location)), { recursive: true });
      await get(beside(source, location), location);
    }
    let sidecar: ModelSidecar = {};
    if (options.sidecar) {
      const sidecarRef = isUrl(options.sidecar) ? options.sidecar : resolve(options.sidecar);
      await get(sidecarRef, 'sidecar.json');
      sidecar = parseJson(await readFile(join(staging, 'sidecar.json'), 'utf8'), sidecarRef) as ModelSidecar;
      await unlink(join(staging, 'sidecar.json'));
      if (typeof sidecar.labels === 'string' && !options.labels) {
        await get(beside(sidecarRef, sidecar.labels), `${name}.labels.json`);
        sidecar.labels = `${name}.labels.json`;
      }
    }
    if (options.labels) {
      const labelsRef =
        options.labels === 'imagenet'
          ? join(SHIPPED_MODEL_DIR, 'imagenet_classes.json')
          : isUrl(options.labels)
            ? options.labels
            : resolve(options.labels);
      await get(labelsRef, `${name}.labels.json`);
      sidecar.labels = `${name}.labels.json`;
    }
    const record: CacheRecord = { source, sha256 };
    await writeFile(join(staging, `${name}.json`), `${JSON.stringify({ ...sidecar, ...record }, null, 2)}\n`);
    options.signal?.throwIfAborted();
    await options.verify?.(join(staging, modelFile));
    options.signal?.throwIfAborted();
    await rename(staging, target);
    return join(target, modelFile);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new Error('expected a JSON object');
    return value;
  } catch (err) {
    throw new ModelError(`sidecar ${source} is not a JSON object: ${(err as Error).message}`);
  }
}

/**
 * The cached copy of a model URL, added on first use under its file name. Throws a ModelError when a model of that
 * name in the cache came from elsewhere (add this one under another name).
 */
export async function cachedModelFor(
  url: string,
  options: Omit<AddOptions, 'name' | 'onProgress'> & { onProgress?: DownloadProgress } = {},
): Promise<string> {
  const name = defaultModelName(url);
  const path = join(cacheDir(options.env), name, `${name}.onnx`);
  if (existsSync(path)) {
    const recorded = await readRecord(path);
    if (recorded?.source !== url)
      throw new ModelError(
        `the cached model '${name}' came from ${recorded?.source ?? 'elsewhere'}, not ${url}; add this one under another name: netvis models add ${url} --name NAME`,
      );
    return path;
  }
  return addModel(url, {
    ...options,
    name,
    onProgress: options.onProgress && ((_, received, total) => options.onProgress!(received, total)),
  });
}

async function readRecord(modelPath: string): Promise<Partial<CacheRecord> | undefined> {
  try {
    return JSON.parse(
      await readFile(join(dirname(modelPath), `${basename(modelPath, '.onnx')}.json`), 'utf8'),
    ) as Partial<CacheRecord>;
  } catch {
    return undefined;
  }
}

/** One model `netvis models list` shows. */
export interface ListedModel {
  name: string;
  path: string;
  /** Size of the .onnx file (external data not counted), in bytes. */
  bytes: number;
  /** 'shipped', 'cache' or 'NETVIS_MODEL_DIR'. */
  kind: string;
  /** Where it came from: the URL or path it was added from, else its folder. */
  source: string;
}

/** The models found by name: in $NETVIS_MODEL_DIR, the cache and the shipped ones (the first of a name wins). */
export async function listModels(env: NodeJS.ProcessEnv = process.env): Promise<ListedModel[]> {
  const found = new Map<string, ListedModel>();
  const dirs = modelSearchPath(env);
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const kind = dir === SHIPPED_MODEL_DIR ? 'shipped' : dir === cacheDir(env) ? 'cache' : 'NETVIS_MODEL_DIR';
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const name = entry.isDirectory() ? entry.name : entry.name.replace(/\.onnx$/, '');
      const path = entry.isDirectory() ? join(dir, name, `${name}.onnx`) : join(dir, entry.name);
      if (found.has(name) || !path.endsWith('.onnx') || !existsSync(path)) continue;
      const record = await readRecord(path);
      found.set(name, {
        name,
        path,
        bytes: (await stat(path)).size,
        kind,
        source:
          kind === 'shipped'
            ? 'netvis (torchvision weights, BSD-3-Clause)'
            : (record?.source ?? dirname(path)),
      });
    }
  }
  return [...found.values()];
}

/**
 * Removes a model from the cache: its folder (`netvis models add`) or its `NAME.onnx` and `NAME.json` (an export into
 * the cache). Returns what was removed. Throws a ModelError for a shipped model and ModelNotFoundError when the cache
 * has no model of that name.
 */
export async function removeModel(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  if (SHIPPED_MODELS[name]) throw new ModelError(`'${name}' ships with netvis and cannot be removed`);
  const root = cacheDir(env);
  if (NAME.test(name) && existsSync(join(root, name, `${name}.onnx`))) {
    // Renamed away first, so a model is never seen half-removed.
    const doomed = await mkdtemp(join(root, `.${name}.removing-`));
    await rename(join(root, name), join(doomed, name));
    await rm(doomed, { recursive: true, force: true });
    return [join(root, name)];
  }
  const flat = [join(root, `${name}.onnx`), join(root, `${name}.json`)].filter((p) => existsSync(p));
  if (NAME.test(name) && flat.length > 0 && flat[0].endsWith('.onnx')) {
    for (const p of flat) await unlink(p);
    return flat;
  }
  throw new ModelNotFoundError(`no model named '${name}' in the cache ${root}`);
}
