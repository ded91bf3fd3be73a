// The netvis CLI in this process: much faster than spawning it, for many cases.
import { AsyncLocalStorage } from 'node:async_hooks';
import { main } from '../../src/cli/main.js';

/** What one in-process CLI run printed and returned, and how long it took. */
export interface MainRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

interface Captured {
  stdout: string[];
  stderr: string[];
}

// Only writes made inside a run are captured: the test runner reports on the same stdout from its own async chain.
const context = new AsyncLocalStorage<Captured>();
const original = {
  stdout: process.stdout.write.bind(process.stdout),
  stderr: process.stderr.write.bind(process.stderr),
};

function intercept(name: 'stdout' | 'stderr'): void {
  process[name].write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const into = context.getStore()?.[name];
    if (!into) return (original[name] as (...args: unknown[]) => boolean)(chunk, ...rest);
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
    return true;
  }) as typeof process.stdout.write;
}
intercept('stdout');
intercept('stderr');

/** Runs `netvis ARGS` through main(), with what it writes to stdout and stderr captured. */
export async function runMain(args: string[]): Promise<MainRun> {
  const captured: Captured = { stdout: [], stderr: [] };
  const started = performance.now();
  const code = await context.run(captured, () => main(args));
  return {
    code,
    stdout: captured.stdout.join(''),
    stderr: captured.stderr.join(''),
    ms: performance.now() - started,
  };
}
