// First-call cost: the first input gradient of a model (shapes inferred, gradient compiled, session created,
// run) next to a forward-only session of the same model, each in a fresh process for a clean peak RSS.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FirstCallReport } from '../test/support/first-call.js';
import { ROOT, SHARED } from '../test/support/shared.js';
import { ratio, torchPython } from './harness.js';

const exec = promisify(execFile);
const FIXTURES = ['vit_small_patch16', 'convnext_mini', 'swin_mini'];
// Full-size torchvision models, exported with random weights (the timing does not depend on them).
const FULL_SIZE = ['convnext_tiny', 'swin_t'];
const EXPORTS = join(tmpdir(), 'netvis-bench-models');

async function firstCall(path: string, mode: 'forward' | 'gradient'): Promise<FirstCallReport> {
  const child = join(ROOT, 'test', 'support', 'first-call.ts');
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', child, path, mode, '1'], {
    cwd: ROOT,
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as FirstCallReport;
}

/** Exports a torchvision model at opset 17 with random weights (cached in the temp folder); the error when it cannot. */
async function exportModel(name: string): Promise<string> {
  const path = join(EXPORTS, `${name}.onnx`);
  if (existsSync(path)) return path;
  const py = torchPython();
  if (!py) throw new Error('PyTorch not installed');
  mkdirSync(EXPORTS, { recursive: true });
  const script = join(ROOT, 'scripts', 'export-torchvision.py');
  await exec(py, [script, name, '--random-weights', '--out', EXPORTS], { maxBuffer: 1 << 24 });
  return path;
}

/** Forward-only and first-gradient reports of one model, and how they compare with the goals. */
async function measure(path: string): Promise<Record<string, unknown>> {
  const forward = await firstCall(path, 'forward');
  const gradient = await firstCall(path, 'gradient');
  // Issue 10's budget: three forward passes plus the creation of a session.
  const budget = 3 * forward.second_call_ms + forward.session_create_ms[0];
  return {
    forward,
    gradient,
    first_gradient_call_over_budget: ratio(gradient.first_call_ms, budget),
    peak_rss_gradient_over_forward: ratio(gradient.peak_rss_mb, forward.peak_rss_mb),
  };
}

/** What went wrong, in one line: the error a child process printed, else the error's first line. */
function reason(err: unknown): string {
  const e = err as Error & { stderr?: string };
  return e.stderr?.split('\n').find((l) => /^\w*Error: |: error: /.test(l)) ?? e.message.split('\n')[0];
}

/** First-call time and peak RSS (N=1, 224×224, all cores) for the modern fixtures and full-size ConvNeXt-T and Swin-T. */
export async function run(): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  const goals: Record<string, unknown> = {};
  const paths: [string, () => Promise<string>][] = [
    ...FIXTURES.map((name): [string, () => Promise<string>] => [
      name,
      async () => join(SHARED, 'fixtures', 'modern', `${name}.onnx`),
    ]),
    ...FULL_SIZE.map((name): [string, () => Promise<string>] => [name, () => exportModel(name)]),
  ];
  for (const [name, path] of paths) {
    let file: string;
    try {
      file = await path();
    } catch (err) {
      results[name] = `skipped: ${reason(err)}`;
      continue;
    }
    process.stderr.write(`bench: compile: ${name}\n`);
    try {
      results[name] = await measure(file);
    } catch (err) {
      results[name] = `failed: ${reason(err)}`;
      continue;
    }
    if (!FULL_SIZE.includes(name)) continue;
    const r = results[name] as Record<string, unknown>;
    goals[`${name} first gradient call <= 5000 ms`] = (r.gradient as FirstCallReport).first_call_ms;
    goals[`${name} first gradient call <= 1x (3 forward passes + session creation)`] =
      r.first_gradient_call_over_budget;
    goals[`${name} peak RSS <= 2x forward-only`] = r.peak_rss_gradient_over_forward;
  }
  return { ...results, goals };
}
