import { ModelError, onnx } from './proto.js';

/** Reads an external data file named by its `location` (relative to the model's folder). */
export type ExternalDataReader = (location: string) => Promise<Uint8Array>;

function entries(t: onnx.TensorProto): Map<string, string> {
  return new Map(t.externalData.map((e) => [e.key ?? '', e.value ?? '']));
}

const isExternal = (t: onnx.TensorProto) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;

/**
 * The files a model's initializers keep their data in (their `location`s, each once, in order). A location must be a
 * plain relative path below the model's folder (the ONNX external-data spec); others throw a ModelError.
 */
export function externalDataFiles(model: onnx.ModelProto, source = 'model'): string[] {
  const files: string[] = [];
  for (const t of model.graph.initializer.filter(isExternal)) {
    const location = entries(t).get('location') ?? '';
    const parts = location.split(/[\\/]/);
    if (!location || location.startsWith('/') || /^[a-z]:/i.test(location) || parts.includes('..'))
      throw new ModelError(
        `${source}: tensor '${t.name}' keeps its data in '${location}', which is not a path inside the model's folder`,
      );
    if (!files.includes(location)) files.push(location);
  }
  return files;
}

/**
 * Moves every initializer's external data into the model (raw_data), reading each file once through `read`
 * (`offset` and `length` as the spec defines them; the whole file when absent). Returns the files read. Throws a
 * ModelError naming the tensor and file when a file cannot be read or is shorter than the tensor needs.
 */
export async function inlineExternalData(
  model: onnx.ModelProto,
  read: ExternalDataReader,
  source = 'model',
): Promise<string[]> {
  const files = externalDataFiles(model, source);
  const contents = new Map<string, Uint8Array>();
  for (const file of files) {
    try {
      contents.set(file, await read(file));
    } catch (err) {
      throw new ModelError(
        `${source}: its weights are in '${file}' beside it, which cannot be read (${(err as Error).message})`,
      );
    }
  }
  for (const t of model.graph.initializer.filter(isExternal)) {
    const e = entries(t);
    const bytes = contents.get(e.get('location')!)!;
    const offset = Number(e.get('offset') ?? 0);
    const length = e.has('length') ? Number(e.get('length')) : bytes.length - offset;
    if (!(offset >= 0 && length >= 0 && offset + length <= bytes.length))
      throw new ModelError(
        `${source}: tensor '${t.name}' needs bytes ${offset} to ${offset + length} of '${e.get('location')}', which has ${bytes.length}`,
      );
    t.rawData = bytes.slice(offset, offset + length);
    t.externalData = [];
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }
  return files;
}
