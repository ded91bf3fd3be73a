// `npm run bench [-- SUITE...]`: timings as JSON on stdout, progress on stderr. With no names, every suite not
// marked heavy runs; heavy suites run only when named. PyTorch's baselines run in one process beside, alternating
// with netvis's runs of the same workload (bench/torch_workloads.py).
import { availableParallelism, cpus, loadavg } from 'node:os';
import * as adversarial from './adversarial.js';
import * as attribution from './attribution.js';
import * as autoattack from './autoattack.js';
import * as benchmark from './benchmark.js';
import * as compile from './compile.js';
import * as engine from './engine.js';
import { measured, progress, TorchWorkloads } from './harness.js';
import * as methods from './methods.js';
import type { Suite } from './suite.js';
import * as transformers from './transformers.js';
import * as web from './web.js';

// Add new suites here; mark those that take minutes `heavy: true`.
const suites: Record<string, Suite> = {
  engine,
  web,
  adversarial,
  attribution,
  transformers,
  // Minutes each: full-size model exports and first calls in fresh processes; peer methods in fresh PyTorch
  // processes; the dataset benchmark (100 images, netvis benchmark vs Quantus) tens of minutes.
  compile: { ...compile, heavy: true },
  methods: { ...methods, heavy: true },
  benchmark: { ...benchmark, heavy: true },
  // AutoAttack standard on 20 images, netvis and the reference on PyTorch (minutes each).
  autoattack: { ...autoattack, heavy: true },
};

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  const list = Object.entries(suites).map(
    ([n, s]) => `  ${n}${s.heavy ? ' (heavy: runs only when named)' : ''}`,
  );
  process.stdout.write(`usage: npm run bench [-- SUITE...]\nsuites:\n${list.join('\n')}\n`);
  process.exit(0);
}
const unknown = args.filter((a) => !(a in suites));
if (unknown.length) {
  process.stderr.write(`bench: no suite '${unknown[0]}'; suites: ${Object.keys(suites).join(', ')}\n`);
  process.exit(2);
}
const chosen = args.length ? args : Object.keys(suites).filter((n) => !suites[n].heavy);

const load = () => loadavg().map((l) => Math.round(l * 100) / 100);
const results: Record<string, unknown> = {
  machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.version },
  load_average_at_start: load(),
};
let torch: Promise<TorchWorkloads | undefined> | undefined;
let started: TorchWorkloads | undefined;
const ctx = {
  torch: () =>
    (torch ??= TorchWorkloads.start().then((t) => {
      results.torch = t?.engine ?? 'not installed';
      return (started = t);
    })),
};
// Ctrl-C still prints what was measured.
process.once('SIGINT', () => {
  started?.kill();
  progress('interrupted');
  process.stdout.write(`${JSON.stringify({ ...results, interrupted: true, measured }, null, 2)}\n`);
  process.exit(130);
});
try {
  for (const name of chosen) {
    progress(`${name}: starting`);
    results[name] = await suites[name].run(ctx);
  }
} finally {
  (await torch)?.close();
}
results.load_average_at_end = load();
progress('done');
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
