import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Preprocessing } from '../image/types.js';
import { decodeModel, ModelError } from '../onnx/proto.js';
import type { Backend } from '../runtime/backend.js';
import { nodeBackend } from '../runtime/node.js';
import { cachedModelFor, isModelUrl, type DownloadProgress } from './cache.js';
import type { Classifier } from './classifier.js';
import { DEFAULT_MODEL, findModel } from './find.js';
import type { Layout } from './import.js';
import { openClassifier, type ModelSidecar } from './open.js';
import { checkShippedModel, shippedModelName, SHIPPED_MODEL_DIR } from './shipped.js';

export type { ModelSidecar } from './open.js';

/** Where to find a model and how to read it; every field is optional. */
export interface LoadOptions {
  /** A model name (default `squeezenet1_1`, which ships with netvis), a path to an .onnx file, or an https:// URL (downloaded into the cache on first use). */
  model?: string;
  /** Labels JSON file (`[{wnid, names}]` or `["name", ...]`), or `imagenet` for the ImageNet labels netvis ships; default: the sidecar's, else `imagenet_classes.json` beside the model. */
  labels?: string;
  /** Overrides of the sidecar's preprocessing (default: ImageNet's, resize 256 and crop 224, or what a fixed input size says). */
  preprocessing?: Partial<Preprocessing>;
  input?: string;
  /** The tensor holding the logits (default: found; see importModel). */
  output?: string;
  /** Who named `output`, for the import report (e.g. '--logits'). */
  outputNamedBy?: string;
  layout?: Layout;
  threads?: number;
  backend?: Backend;
  /** Progress of a download when `model` is a URL not yet in the cache. */
  onDownload?: DownloadProgress;
}

/** The ImageNet labels shipped with netvis, for `--labels imagenet`. */
export const IMAGENET_LABELS = join(SHIPPED_MODEL_DIR, 'imagenet_classes.json');

/** Reads and parses a JSON file; a ModelError names it (as `what`) when it cannot be read or parsed. */
export async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ModelError(`${what} ${path} cannot be read`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelError(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The sidecar `MODEL.json` beside a model file, or {} when there is none. */
export async function readSidecar(modelPath: string): Promise<{ path: string; sidecar: ModelSidecar }> {
  const path = join(dirname(modelPath), `${basename(modelPath, '.onnx')}.json`);
  const json = existsSync(path) ? await readJson(path, 'model sidecar') : {};
  return { path, sidecar: checkSidecar(json, path) };
}

/**
 * A model's labels JSON and where it came from: `labels` (a file, or `imagenet` for the shipped ImageNet labels),
 * else the sidecar's (inline, or a file beside the model), else `imagenet_classes.json` beside the model. Throws a
 * ModelError saying where it looked.
 */
export async function readLabels(
  modelPath: string,
  sidecarPath: string,
  sidecar: ModelSidecar,
  labels?: string,
): Promise<{ json: unknown; source: string }> {
  if (labels) {
    const source = labels === 'imagenet' ? IMAGENET_LABELS : resolve(labels);
    return { json: await readJson(source, 'labels file'), source };
  }
  if (Array.isArray(sidecar.labels)) return { json: sidecar.labels, source: sidecarPath };
  const source = join(
    dirname(modelPath),
    typeof sidecar.labels === 'string' ? sidecar.labels : 'imagenet_classes.json',
  );
  if (!existsSync(source))
    throw new ModelError(
      `${modelPath}: no labels; looked for ${source} (give --labels FILE, or a sidecar ${sidecarPath} naming them)`,
    );
  return { json: await readJson(source, 'labels file'), source };
}

/** The model file a reference names: a URL (cached, downloaded on first use), a path, or a name on the search path. */
export async function resolveModel(ref: string, onDownload?: DownloadProgress): Promise<string> {
  return isModelUrl(ref) ? cachedModelFor(ref, { onProgress: onDownload }) : findModel(ref);
}

/**
 * Loads a classifier: finds (or downloads) the model, checks a shipped model's SHA-256, reads its sidecar, labels and
 * external data, and imports it (`openClassifier`). Throws ModelNotFoundError or a ModelError naming the file.
 */
export async function loadClassifier(options: LoadOptions = {}): Promise<Classifier> {
  const path = await resolveModel(options.model ?? DEFAULT_MODEL, options.onDownload);
  const dir = dirname(path);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ModelError(`${path} cannot be read: ${(err as Error).message}`);
  }
  const { path: sidecarPath, sidecar } = await readSidecar(path);
  const labels = await readLabels(path, sidecarPath, sidecar, options.labels).catch((err: unknown) => {
    // A file that is not a model at all (an image given as --model) says so, rather than that its labels are missing.
    decodeModel(bytes, path);
    throw err;
  });
  const shipped = shippedModelName(path);
  if (shipped) checkShippedModel(shipped, path, bytes);
  return openClassifier(
    {
      source: path,
      bytes,
      labels: labels.json,
      labelsSource: labels.source,
      sidecar,
      readExternal: (location) => readFile(join(dir, location)),
    },
    options,
    options.backend ?? nodeBackend,
  );
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The sidecar's JSON checked field by field: each is optional, but a field given must have its type. */
function checkSidecar(json: unknown, source: string): ModelSidecar {
  if (!isObject(json))
    throw new ModelError(`${source}: expected a JSON object (labels, preprocessing, input, ...)`);
  const { labels, preprocessing, input, output, layout } = json;
  if (labels !== undefined && typeof labels !== 'string' && !Array.isArray(labels))
    throw new ModelError(`${source}: "labels" must be a file name or an array of labels`);
  if (preprocessing !== undefined && !isObject(preprocessing))
    throw new ModelError(`${source}: "preprocessing" must be an object (resize, crop, mean, std)`);
  for (const [key, value] of Object.entries({ input, output, layout }))
    if (value !== undefined && typeof value !== 'string')
      throw new ModelError(`${source}: "${key}" must be a string`);
  return json as ModelSidecar;
}
