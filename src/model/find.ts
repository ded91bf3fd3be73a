import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The model netvis uses when none is named. */
export const DEFAULT_MODEL = 'squeezenet1_1';

/** No model file was found; the message says where netvis looked and how to get one. */
export class ModelNotFoundError extends Error {
  override name = 'ModelNotFoundError';
}

// src/model/find.ts and dist/model/find.js both sit two levels below the package root.
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The folders searched for `NAME.onnx`, in order: NETVIS_MODEL_DIR, ~/.cache/netvis, the checkout's sibling shared/models. */
export function modelSearchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env.NETVIS_MODEL_DIR) dirs.push(resolve(env.NETVIS_MODEL_DIR));
  dirs.push(join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'netvis'));
  dirs.push(join(packageRoot, '..', 'shared', 'models'));
  return dirs;
}

/** The path of a model: `ref` is a file path (anything ending in .onnx or existing) or a model name looked up on the search path. */
export function findModel(ref: string = DEFAULT_MODEL, env: NodeJS.ProcessEnv = process.env): string {
  if (ref.endsWith('.onnx') || ref.includes('/') || ref.includes('\\')) {
    const path = resolve(ref);
    if (existsSync(path) && statSync(path).isFile()) return path;
    throw new ModelNotFoundError(`model file ${path} does not exist`);
  }
  const dirs = modelSearchPath(env);
  for (const dir of dirs) {
    const path = join(dir, `${ref}.onnx`);
    if (existsSync(path)) return path;
  }
  throw new ModelNotFoundError(
    [
      `model '${ref}' not found; looked for ${ref}.onnx in:`,
      ...dirs.map((d) => `  ${d}`),
      `Get it by exporting it from torchvision (needs PyTorch):`,
      `  python3 scripts/export-torchvision.py ${ref} --out ~/.cache/netvis`,
      `or point NETVIS_MODEL_DIR at a folder holding ${ref}.onnx and its labels, or pass --model PATH.onnx.`,
    ].join('\n'),
  );
}

/** The folder of sample images: NETVIS_SAMPLES, else the checkout's sibling shared/images (undefined when neither exists). */
export function sampleImageDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [env.NETVIS_SAMPLES, join(packageRoot, '..', 'shared', 'images')].filter((d): d is string =>
    Boolean(d),
  );
  return dirs.map((d) => resolve(d)).find((d) => existsSync(d));
}
