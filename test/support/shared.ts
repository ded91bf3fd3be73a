import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';

/** The repository root and the read-only ../shared folder beside it. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = join(ROOT, '..', 'shared');
export const REFERENCE = join(SHARED, 'reference');
export const IMAGES = join(SHARED, 'images');
export const FIXTURES = join(SHARED, 'fixtures', 'gradcheck');

/** `../shared/reference/meta.json`. */
export interface ReferenceMeta {
  images: string[];
  labels: number[];
  top1_pred: number[];
  fooling: { image: string; target: number; steps: number; fooled: boolean; linf: number; l2: number }[];
}

/** The reference metadata. */
export function referenceMeta(): ReferenceMeta {
  return JSON.parse(readFileSync(join(REFERENCE, 'meta.json'), 'utf8')) as ReferenceMeta;
}

/** Relative L2 error ‖a − b‖ / ‖b‖ (float64 accumulation). */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** What a CLI run printed and returned. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `netvis` command (bin/netvis.js) with arguments; `onStderr` sees its stderr so far and can signal it. */
export function runCli(
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void;
  } = {},
): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'netvis.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr, (s) => child.kill(s));
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}
