import type { TorchWorkloads } from './harness.js';

/** What `npm run bench` gives each suite. */
export interface SuiteContext {
  /** The PyTorch baseline process (started on first use), or undefined when this machine has no PyTorch. */
  torch(): Promise<TorchWorkloads | undefined>;
}

/** A benchmark suite; `heavy` ones run only when named (`npm run bench -- NAME`). */
export interface Suite {
  run(ctx: SuiteContext): Promise<Record<string, unknown>>;
  heavy?: boolean;
}

/** A goal on a netvis/PyTorch ratio: the ratio and whether it is met (undefined without PyTorch). */
export function goal(ratio: number | undefined, atMost: number): { ratio?: number; met?: boolean } {
  return ratio === undefined ? {} : { ratio, met: ratio <= atMost };
}
