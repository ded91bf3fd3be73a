import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../test/support/shared.js';

/** Median wall time in ms of `fn` over `repeat` runs after one warm-up run. */
export async function medianMs(fn: () => Promise<unknown>, repeat = 5): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)] * 100) / 100;
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

/** Ratio a / b rounded to 3 digits, or undefined when b is missing. */
export function ratio(a: number, b: number | string | undefined): number | undefined {
  return typeof b === 'number' ? Math.round((a / b) * 1000) / 1000 : undefined;
}
