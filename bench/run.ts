import { availableParallelism, cpus } from 'node:os';
import * as engine from './engine.js';
import * as web from './web.js';
import * as adversarial from './adversarial.js';
import * as attribution from './attribution.js';
import * as benchmark from './benchmark.js';
import * as compile from './compile.js';
import * as methods from './methods.js';
import * as transformers from './transformers.js';

// Each suite exports `run(): Promise<Record<string, unknown>>`; add new suites here.
const suites: Record<string, { run(): Promise<Record<string, unknown>> }> = {
  engine,
  web,
  adversarial,
  attribution,
  benchmark,
  compile,
  methods,
  transformers,
};
// Suites that run only when named (`npm run bench -- benchmark`): they take tens of minutes.
const NAMED_ONLY = new Set(['benchmark']);

const only = process.argv.slice(2);
const results: Record<string, unknown> = {
  machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.version },
};
for (const [name, suite] of Object.entries(suites)) {
  if (only.length ? !only.includes(name) : NAMED_ONLY.has(name)) continue;
  process.stderr.write(`bench: ${name}...\n`);
  results[name] = await suite.run();
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
