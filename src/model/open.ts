// The one path from model bytes, labels and sidecar to a Classifier, shared by the Node and browser loaders.
import type { Preprocessing } from '../image/types.js';
import { externalDataFiles, inlineExternalData, type ExternalDataReader } from '../onnx/external-data.js';
import { decodeModel, ModelError } from '../onnx/proto.js';
import type { Backend } from '../runtime/backend.js';
import { Classifier } from './classifier.js';
import { importModel, type Layout } from './import.js';
import { ClassLabels } from './labels.js';

/** The JSON sidecar `MODEL.json` beside `MODEL.onnx` that describes a classifier; every field is optional. */
export interface ModelSidecar {
  /** Labels: a file name beside the model, or the labels themselves. */
  labels?: string | unknown[];
  /** torchvision-style preprocessing; mean and std may have one value for a grayscale model. */
  preprocessing?: Partial<Omit<Preprocessing, 'mean' | 'std'>> & { mean?: number[]; std?: number[] };
  /** Graph input fed the images. */
  input?: string;
  /** Tensor holding the logits. */
  output?: string;
  /** Layout of the input when its shape does not say. */
  layout?: Layout;
}

/** A model as a loader has read it: its bytes, what lies beside it, and how to reach its external data. */
export interface ModelFiles {
  /** Names the model in messages: its path, URL or file name. */
  source: string;
  bytes: Uint8Array;
  /** Parsed labels JSON (`[{wnid, names}]` or `["name", ...]`) and where it came from. */
  labels: unknown;
  labelsSource: string;
  sidecar: ModelSidecar;
  /** Reads an external data file by its location relative to the model; absent when there is none to read. */
  readExternal?: ExternalDataReader;
}

/** Choices that override the sidecar's. */
export interface OpenOptions {
  input?: string;
  output?: string;
  /** Who named `output`, for the import report (default 'the caller'). */
  outputNamedBy?: string;
  layout?: Layout;
  preprocessing?: Partial<Preprocessing>;
  threads?: number;
}

/**
 * Decodes the model, reads its external data, parses the labels, imports the graph (`importModel`: logits, layout,
 * opset, float16, fixed batch and size) and builds the Classifier on `backend`. Throws a ModelError naming the model
 * (or the labels file) for anything it cannot use.
 */
export async function openClassifier(
  files: ModelFiles,
  options: OpenOptions,
  backend: Backend,
): Promise<Classifier> {
  const { source, sidecar } = files;
  const model = decodeModel(files.bytes, source);
  const external = externalDataFiles(model, source);
  if (external.length > 0) {
    if (!files.readExternal)
      throw new ModelError(
        `${source}: its weights are in ${external.join(', ')}, which was not given with it`,
      );
    await inlineExternalData(model, files.readExternal, source);
  }
  let labels: ClassLabels;
  try {
    labels = ClassLabels.fromJson(files.labels, files.labelsSource);
  } catch (err) {
    throw new ModelError((err as Error).message);
  }
  const imported = importModel(model, {
    source,
    labelCount: labels.size,
    input: options.input ?? sidecar.input,
    output: options.output ?? sidecar.output,
    outputNamedBy: options.output ? (options.outputNamedBy ?? 'the caller') : 'the sidecar',
    layout: options.layout ?? sidecar.layout,
    preprocessing: { ...sidecar.preprocessing, ...options.preprocessing },
  });
  return new Classifier(
    imported.model,
    {
      labels,
      preprocessing: imported.preprocessing,
      input: imported.input,
      output: imported.output,
      threads: options.threads,
      report: { ...imported.report, externalData: external },
    },
    backend,
    source,
  );
}
