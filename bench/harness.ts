import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { oneHot } from '../src/methods/common.js';
import type { Tensor } from '../src/tensor.js';
import { ROOT } from '../test/support/shared.js';

/** Median and fastest wall time in ms of `fn` over `repeat` runs after one warm-up run (the fastest is the least disturbed by other load). */
export async function timingsMs(
  fn: () => Promise<unknown>,
  repeat = 5,
): Promise<{ median: number; min: number }> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const round = (t: number) => Math.round(t * 100) / 100;
  return { median: round(times[Math.floor(times.length / 2)]), min: round(times[0]) };
}

/** Median wall time in ms of `fn` over `repeat` runs after one warm-up run. */
export async function medianMs(fn: () => Promise<unknown>, repeat = 5): Promise<number> {
  return (await timingsMs(fn, repeat)).median;
}

/** The Python that has PyTorch (Debian's python3-torch installs into /usr/bin/python3), or undefined. */
export function torchPython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(py, ['-c', 'import torch, torchvision, scipy'], { stdio: 'ignore' });
      return py;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** Runs a PyTorch baseline script that prints one JSON object; undefined (with a note on stderr) when PyTorch is missing. */
export function runTorchScript(
  script: string,
  args: string[] = [],
): Record<string, number | string> | undefined {
  const py = torchPython();
  if (!py) {
    process.stderr.write(
      'PyTorch not found: apt-get install -y python3-torch python3-torchvision python3-scipy\n',
    );
    return undefined;
  }
  if (!existsSync(script)) throw new Error(`${script} does not exist`);
  const out = execFileSync(py, [script, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number | string>;
}

/** `../shared/bench/torch_baseline.py`. */
export const SHARED_BASELINE = join(ROOT, '..', 'shared', 'bench', 'torch_baseline.py');

/** Each of our timings over PyTorch's under the same key (undefined where PyTorch has none). */
export function ratios(
  ours: Record<string, number>,
  torch: Record<string, number | string> | undefined,
): Record<string, number | undefined> {
  return Object.fromEntries(Object.entries(ours).map(([k, v]) => [k, ratio(v, torch?.[k])]));
}

/** Ratio a / b rounded to 3 digits, or undefined when b is missing. */
export function ratio(a: number, b: number | string | undefined): number | undefined {
  return typeof b === 'number' ? Math.round((a / b) * 1000) / 1000 : undefined;
}

/** A batch of n uniform random 224×224 images in [-1, 1) and a one-hot seed per image (classes 0, 7, 14, …), as the PyTorch baselines use. */
export function gradientBatch(n: number, classes = 1000): { x: Tensor; seed: Tensor } {
  return {
    x: { data: new Float32Array(n * 3 * 224 * 224).map(() => Math.random() * 2 - 1), dims: [n, 3, 224, 224] },
    seed: oneHot(
      Array.from({ length: n }, (_, i) => i * 7),
      classes,
    ),
  };
}
