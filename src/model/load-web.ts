import { ModelError } from '../onnx/proto.js';
import type { Backend } from '../runtime/backend.js';
import type { Classifier } from './classifier.js';
import type { Layout } from './import.js';
import { openClassifier, type ModelSidecar } from './open.js';

/** Where a classifier is on the web and how to feed it; `netvis serve` describes its model in this form. */
export interface WebModelSource {
  /** URL of the .onnx file (external data files are fetched from beside it). */
  model: string;
  /** URL of the labels JSON (`[{wnid, names}]` or `["name", ...]`). */
  labels: string;
  /** Preprocessing given explicitly (as a sidecar's); the rest comes from the graph or ImageNet's. */
  preprocessing?: ModelSidecar['preprocessing'];
  input?: string;
  output?: string;
  layout?: Layout;
  /** Names the model in messages; default: the model URL. */
  name?: string;
}

async function fetchOk(url: string, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new ModelError(`${what} ${url} cannot be fetched: ${(err as Error).message}`);
  }
  if (!response.ok) throw new ModelError(`${what} ${url} cannot be fetched: HTTP ${response.status}`);
  return response;
}

async function parseJson(text: () => Promise<string>, source: string): Promise<unknown> {
  try {
    return JSON.parse(await text());
  } catch (err) {
    throw new ModelError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Fetches a model and its labels (relative URLs resolve against `base`, default the page's) and builds a Classifier on `backend` through the same import as in Node. */
export async function loadClassifierFromUrl(
  source: WebModelSource,
  backend: Backend,
  base: string = globalThis.location?.href,
): Promise<Classifier> {
  const modelUrl = new URL(source.model, base).href;
  const labelsUrl = new URL(source.labels, base).href;
  const [modelResponse, labelsResponse] = await Promise.all([
    fetchOk(modelUrl, 'model'),
    fetchOk(labelsUrl, 'labels file'),
  ]);
  const labels = await parseJson(() => labelsResponse.text(), `labels file ${labelsUrl}`);
  const { preprocessing, input, output, layout } = source;
  return openClassifier(
    {
      source: source.name ?? modelUrl,
      bytes: new Uint8Array(await modelResponse.arrayBuffer()),
      labels,
      labelsSource: labelsUrl,
      sidecar: { preprocessing, input, output, layout },
      readExternal: async (location) =>
        new Uint8Array(
          await (await fetchOk(new URL(location, modelUrl).href, 'external data')).arrayBuffer(),
        ),
    },
    {},
    backend,
  );
}

/** A file the user picked or dropped. */
export interface PickedFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * Builds a Classifier from files the user picked together: one `.onnx` model, its labels (a `.json` holding an array),
 * optionally its sidecar (a `.json` holding an object; its `labels` may name one of the picked files) and the external
 * data files it names. Goes through the same import as every other loader. Throws a ModelError saying which file is
 * missing or wrong.
 */
export async function loadClassifierFromFiles(files: PickedFile[], backend: Backend): Promise<Classifier> {
  const models = files.filter((f) => f.name.toLowerCase().endsWith('.onnx'));
  if (models.length !== 1)
    throw new ModelError(`pick one .onnx model file (got ${models.length}) with its labels .json`);
  const [model] = models;
  const byName = new Map(files.map((f) => [f.name, f]));
  let sidecar: ModelSidecar = {};
  let labels: { json: unknown; source: string } | undefined;
  for (const f of files.filter((f) => f.name.toLowerCase().endsWith('.json'))) {
    const json = await parseJson(async () => new TextDecoder().decode(f.bytes), f.name);
    if (Array.isArray(json)) labels = { json, source: f.name };
    else if (json && typeof json === 'object') sidecar = json as ModelSidecar;
    else throw new ModelError(`${f.name}: expected labels (a JSON array) or a sidecar (a JSON object)`);
  }
  if (Array.isArray(sidecar.labels)) labels ??= { json: sidecar.labels, source: `${model.name} sidecar` };
  else if (typeof sidecar.labels === 'string' && !labels) {
    const named = byName.get(sidecar.labels);
    if (!named) throw new ModelError(`the sidecar names labels '${sidecar.labels}': pick that file too`);
    labels = {
      json: await parseJson(async () => new TextDecoder().decode(named.bytes), named.name),
      source: named.name,
    };
  }
  if (!labels) throw new ModelError(`${model.name}: pick its labels too (a .json array of class names)`);
  return openClassifier(
    {
      source: model.name,
      bytes: model.bytes,
      labels: labels.json,
      labelsSource: labels.source,
      sidecar,
      readExternal: async (location) => {
        const file = byName.get(location.split('/').pop()!);
        if (!file) throw new Error(`pick '${location}' together with the model`);
        return file.bytes;
      },
    },
    {},
    backend,
  );
}
