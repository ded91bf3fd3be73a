import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError } from '../onnx/proto.js';

// src/model/shipped.ts and dist/model/shipped.js both sit two levels below the package root.
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The folder of the models that ship with netvis (`models/` in the package). */
export const SHIPPED_MODEL_DIR = join(packageRoot, 'models');

/** The folder of the sample images that ship with netvis (`samples/` in the package). */
export const SHIPPED_SAMPLE_DIR = join(packageRoot, 'samples');

/** The shipped models by name, with the SHA-256 of their .onnx file (see models/README.md). */
export const SHIPPED_MODELS: Readonly<Record<string, { sha256: string }>> = {
  squeezenet1_1: { sha256: '23fd543c8a334f170d159d85865aba872a9b16cf6b042efe299ba53ce25e006a' },
};

/** The shipped model's name when `path` is one of the shipped model files, else undefined. */
export function shippedModelName(path: string): string | undefined {
  return Object.keys(SHIPPED_MODELS).find(
    (name) => resolve(path) === join(SHIPPED_MODEL_DIR, `${name}.onnx`),
  );
}

/** Throws a ModelError when the bytes of shipped model `name` are not the ones netvis was released with. */
export function checkShippedModel(name: string, path: string, bytes: Uint8Array): void {
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== SHIPPED_MODELS[name].sha256)
    throw new ModelError(
      `${path}: the shipped model file is damaged (SHA-256 ${actual.slice(0, 12)}…, expected ${SHIPPED_MODELS[name].sha256.slice(0, 12)}…); reinstall netvis`,
    );
}
