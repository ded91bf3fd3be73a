import { IMAGENET_PREPROCESSING, type Preprocessing } from '../image/types.js';
import { decodeModel, ModelError } from '../onnx/proto.js';
import type { Backend } from '../runtime/backend.js';
import { Classifier } from './classifier.js';
import { ClassLabels } from './labels.js';

/** Where a classifier is on the web and how to feed it; `netvis serve` describes its model in this form. */
export interface WebModelSource {
  /** URL of the .onnx file. */
  model: string;
  /** URL of the labels JSON (`[{wnid, names}]` or `["name", ...]`). */
  labels: string;
  /** Overrides of ImageNet's preprocessing (resize 256, crop 224). */
  preprocessing?: Partial<Preprocessing>;
  input?: string;
  output?: string;
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

/** Fetches a model and its labels (relative URLs resolve against `base`, default the page's) and builds a Classifier on `backend`. */
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
  let labelsJson: unknown;
  try {
    labelsJson = await labelsResponse.json();
  } catch (err) {
    throw new ModelError(`labels file ${labelsUrl} is not valid JSON: ${(err as Error).message}`);
  }
  const labels = ClassLabels.fromJson(labelsJson, labelsUrl);
  const name = source.name ?? modelUrl;
  const model = decodeModel(new Uint8Array(await modelResponse.arrayBuffer()), name);
  return new Classifier(
    model,
    {
      labels,
      preprocessing: { ...IMAGENET_PREPROCESSING, ...source.preprocessing },
      input: source.input,
      output: source.output,
    },
    backend,
    name,
  );
}
