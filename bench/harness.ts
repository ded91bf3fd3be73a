import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { join } from 'node:path';
import { oneHot } from '../src/methods/common.js';
import type { Tensor } from '../src/tensor.js';
import { ROOT } from '../test/support/shared.js';

const started = performance.now();

/** Writes a progress line to stderr (`bench: 12 s: what`), so a long run shows where it is. */
export function progress(what: string): void {
  process.stderr.write(`bench: ${Math.round((performance.now() - started) / 1000)} s: ${what}\n`);
}

/** Median and fastest of a set of wall times in ms (the fastest is the run least disturbed by other load). */
export interface Timing {
  median: number;
  min: number;
  runs: number;
}

const round2 = (t: number) => Math.round(t * 100) / 100;

function timing(times: number[]): Timing {
  const s = [...times].sort((a, b) => a - b);
  return { median: round2(s[Math.floor(s.length / 2)]), min: round2(s[0]), runs: s.length };
}

/** Wall time in ms of one call. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Ratio a / b rounded to 3 digits, or undefined when b is missing. */
export function ratio(a: number, b: number | undefined): number | undefined {
  return b === undefined ? undefined : Math.round((a / b) * 1000) / 1000;
}

/** A request for one PyTorch workload of bench/torch_workloads.py, e.g. `{ run: 'input_gradient', n: 8 }`. */
export type TorchRequest = { run: string } & Record<string, number | string>;

/** A PyTorch process (bench/torch_workloads.py) that runs baseline workloads one at a time on request. */
export class TorchWorkloads {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: Interface,
    /** The engine and thread count PyTorch reports. */
    readonly engine: string,
  ) {}

  /** Starts the process; undefined (with a note on stderr) when this machine has no PyTorch. */
  static async start(): Promise<TorchWorkloads | undefined> {
    const py = torchPython();
    if (!py) {
      process.stderr.write(
        'bench: PyTorch not found, netvis runs alone: apt-get install -y python3-torch python3-torchvision python3-scipy\n',
      );
      return undefined;
    }
    const child = spawn(py, [join(ROOT, 'bench', 'torch_workloads.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    const lines = createInterface({ input: child.stdout });
    const hello = JSON.parse(await nextLine(lines, child)) as { engine: string; threads: number };
    return new TorchWorkloads(child, lines, `${hello.engine}, ${hello.threads} threads`);
  }

  /** Runs a workload once in PyTorch; its wall time in ms as PyTorch measured it. */
  async time(request: TorchRequest): Promise<number> {
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
    return (JSON.parse(await nextLine(this.lines, this.child)) as { ms: number }).ms;
  }

  /** Ends the process (after the workload it is running, if any). */
  close(): void {
    this.child.stdin.end();
  }

  /** Stops the process now. */
  kill(): void {
    this.child.kill();
  }
}

function nextLine(lines: Interface, child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`bench/torch_workloads.py exited with ${code}`));
    child.once('exit', onExit);
    lines.once('line', (line) => {
      child.off('exit', onExit);
      resolve(line);
    });
  });
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

/** Every comparison made so far, by label (what an interrupted run still reports). */
export const measured: Record<string, Comparison> = {};

/** One workload timed in both engines. */
export interface Comparison {
  netvis: Timing;
  torch?: Timing;
  /** netvis over PyTorch, medians. */
  ratio?: number;
  /** netvis over PyTorch, fastest runs. */
  ratio_fastest?: number;
}

/**
 * Times netvis's `ours` and PyTorch's `request` alternately, `repeat` runs each after one warm-up run each, swapping
 * which goes first every round, so that both engines see the same load on the machine.
 */
export async function compare(
  label: string,
  ours: () => Promise<unknown>,
  torch: TorchWorkloads | undefined,
  request: TorchRequest,
  repeat: number,
): Promise<Comparison> {
  progress(`${label} (${repeat} runs${torch ? ' each, alternating with PyTorch' : ''})`);
  await ours();
  if (torch) await torch.time(request);
  const a: number[] = [];
  const b: number[] = [];
  let said = performance.now();
  for (let r = 0; r < repeat; r++) {
    if (torch && r % 2 === 1) b.push(await torch.time(request));
    a.push(await timeMs(ours));
    if (torch && r % 2 === 0) b.push(await torch.time(request));
    // A line every 20 s at most, so that slow workloads show they are moving.
    if (r < repeat - 1 && performance.now() - said > 20_000) {
      progress(`${label}: ${r + 1} of ${repeat} runs done`);
      said = performance.now();
    }
  }
  const netvis = timing(a);
  if (!torch) {
    progress(`${label}: netvis ${netvis.median} ms`);
    return (measured[label] = { netvis });
  }
  const t = timing(b);
  const r = ratio(netvis.median, t.median);
  progress(`${label}: netvis ${netvis.median} ms, PyTorch ${t.median} ms (${r}x)`);
  return (measured[label] = { netvis, torch: t, ratio: r, ratio_fastest: ratio(netvis.min, t.min) });
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
