import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { SHIPPED_MODEL_DIR, SHIPPED_SAMPLE_DIR } from './shipped.js';

/** The model netvis uses when none is named (it ships with netvis). */
export const DEFAULT_MODEL = 'squeezenet1_1';

/** No model file was found; the message says where netvis looked and how to get one. */
export class ModelNotFoundError extends Error {
  override name = 'ModelNotFoundError';
}

/** The user's model cache: $NETVIS_CACHE, else $XDG_CACHE_HOME/netvis, else ~/.cache/netvis. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NETVIS_CACHE) return resolve(env.NETVIS_CACHE);
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'netvis');
}

/** The folders searched for a model by name, in order: $NETVIS_MODEL_DIR, the cache, the models shipped with netvis. */
export function modelSearchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env.NETVIS_MODEL_DIR) dirs.push(resolve(env.NETVIS_MODEL_DIR));
  dirs.push(cacheDir(env), SHIPPED_MODEL_DIR);
  return dirs;
}

/** Whether a model reference is a file path rather than a name. */
export function isModelPath(ref: string): boolean {
  return ref.endsWith('.onnx') || ref.includes('/') || ref.includes('\\');
}

/**
 * The path of a model: `ref` is a file path (ending in .onnx or holding a slash) or a name, looked up on the search
 * path as `DIR/NAME.onnx` or, as `netvis models add` stores them, `DIR/NAME/NAME.onnx`. Throws ModelNotFoundError
 * saying where it looked.
 */
export function findModel(ref: string = DEFAULT_MODEL, env: NodeJS.ProcessEnv = process.env): string {
  if (isModelPath(ref)) {
    const path = resolve(ref);
    if (existsSync(path) && statSync(path).isFile()) return path;
    if (existsSync(path))
      throw new ModelNotFoundError(`model ${path} is a folder; give the .onnx file in it`);
    throw new ModelNotFoundError(`model file ${path} does not exist`);
  }
  const dirs = modelSearchPath(env);
  for (const dir of dirs) {
    for (const path of [join(dir, `${ref}.onnx`), join(dir, ref, `${ref}.onnx`)])
      if (existsSync(path)) return path;
  }
  throw new ModelNotFoundError(
    [
      `model '${ref}' not found; looked for ${ref}.onnx in:`,
      ...dirs.map((d) => `  ${d}`),
      `Add it with: netvis models add URL|PATH --name ${ref}`,
      `or export it from torchvision (needs PyTorch): python3 scripts/export-torchvision.py ${ref}`,
      `or pass --model PATH.onnx.`,
    ].join('\n'),
  );
}

/** The folder of sample images: $NETVIS_SAMPLES, else the ones shipped with netvis. */
export function sampleImageDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.NETVIS_SAMPLES ? resolve(env.NETVIS_SAMPLES) : SHIPPED_SAMPLE_DIR;
}
