import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { IMAGENET_PREPROCESSING, type Preprocessing } from '../image/types.js';
import { decodeModel, ModelError } from '../onnx/proto.js';
import type { Backend } from '../runtime/backend.js';
import { nodeBackend } from '../runtime/node.js';
import { Classifier } from './classifier.js';
import { DEFAULT_MODEL, findModel } from './find.js';
import { ClassLabels } from './labels.js';

/** Where to find a model and how to read it; every field is optional. */
export interface LoadOptions {
  /** A model name on the search path (default `squeezenet1_1`) or a path to an .onnx file. */
  model?: string;
  /** Labels JSON file (`[{wnid, names}]` or `["name", ...]`); default: the sidecar's, else `imagenet_classes.json` beside the model. */
  labels?: string;
  /** Overrides of the sidecar's preprocessing (default: ImageNet's, resize 256 and crop 224). */
  preprocessing?: Partial<Preprocessing>;
  input?: string;
  output?: string;
  threads?: number;
  backend?: Backend;
}

/** The JSON sidecar `MODEL.json` beside `MODEL.onnx` that describes a classifier other than the default. */
export interface ModelSidecar {
  labels?: string | unknown[];
  preprocessing?: Partial<Preprocessing>;
  input?: string;
  output?: string;
  layout?: string;
}

async function readJson(path: string, what: string): Promise<unknown> {
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

/** Loads a classifier: finds the model, reads its sidecar and labels, and checks the preprocessing. */
export async function loadClassifier(options: LoadOptions = {}): Promise<Classifier> {
  const path = findModel(options.model ?? DEFAULT_MODEL);
  const dir = dirname(path);
  const sidecarPath = join(dir, `${basename(path, '.onnx')}.json`);
  const sidecar = existsSync(sidecarPath)
    ? checkSidecar(await readJson(sidecarPath, 'model sidecar'), sidecarPath)
    : {};
  if (sidecar.layout && sidecar.layout !== 'NCHW') {
    throw new ModelError(`${sidecarPath}: layout '${sidecar.layout}' is not supported (netvis feeds NCHW)`);
  }
  let labelsJson: unknown;
  let labelsSource: string;
  if (options.labels) {
    labelsSource = resolve(options.labels);
    labelsJson = await readJson(labelsSource, 'labels file');
  } else if (Array.isArray(sidecar.labels)) {
    labelsSource = sidecarPath;
    labelsJson = sidecar.labels;
  } else {
    labelsSource = join(dir, typeof sidecar.labels === 'string' ? sidecar.labels : 'imagenet_classes.json');
    if (!existsSync(labelsSource)) {
      throw new ModelError(
        `${path}: no labels; looked for ${labelsSource} (give --labels FILE or a sidecar ${sidecarPath})`,
      );
    }
    labelsJson = await readJson(labelsSource, 'labels file');
  }
  const labels = ClassLabels.fromJson(labelsJson, labelsSource);
  const preprocessing: Preprocessing = {
    ...IMAGENET_PREPROCESSING,
    ...sidecar.preprocessing,
    ...options.preprocessing,
  };
  checkPreprocessing(preprocessing, sidecarPath);
  const model = decodeModel(await readFile(path), path);
  return new Classifier(
    model,
    {
      labels,
      preprocessing,
      input: options.input ?? sidecar.input,
      output: options.output ?? sidecar.output,
      threads: options.threads,
    },
    options.backend ?? nodeBackend,
    path,
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

// Larger inputs than this are no image classifier's, and would only exhaust memory.
const MAX_SIDE = 4096;

function checkPreprocessing(p: Preprocessing, source: string): void {
  const triple = (v: unknown) =>
    Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!triple(p.mean) || !triple(p.std) || p.std.some((s) => s <= 0)) {
    throw new ModelError(`${source}: preprocessing mean and std must be three numbers each (std > 0)`);
  }
  const side = (v: unknown) => Number.isInteger(v) && (v as number) > 0 && (v as number) <= MAX_SIDE;
  if (!(side(p.crop) && side(p.resize) && p.resize >= p.crop)) {
    throw new ModelError(
      `${source}: preprocessing needs whole-pixel sizes with 0 < crop ≤ resize ≤ ${MAX_SIDE} (got resize ${JSON.stringify(p.resize)}, crop ${JSON.stringify(p.crop)})`,
    );
  }
}
