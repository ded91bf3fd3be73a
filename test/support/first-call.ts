// Child process for measuring a model's first call: `node --import tsx test/support/first-call.ts MODEL.onnx
// forward|gradient [N] [THREADS]` prints one JSON line with the first call's wall time, the time spent in
// session creation and runs, and the process's peak RSS (only a fresh process gives a clean peak).
import { readFileSync } from 'node:fs';
import { IMAGENET_PREPROCESSING } from '../../src/image/types.js';
import { Classifier } from '../../src/model/classifier.js';
import { ClassLabels } from '../../src/model/labels.js';
import { decodeModel } from '../../src/onnx/proto.js';
import type { Backend } from '../../src/runtime/backend.js';
import { nodeBackend } from '../../src/runtime/node.js';
import { oneHot } from '../../src/methods/common.js';

/** What one child reports; times in ms, memory in MB. */
export interface FirstCallReport {
  mode: 'forward' | 'gradient';
  /** Reading and decoding the .onnx file. */
  load_ms: number;
  /** The first logits (forward) or inputGradient (gradient) call: everything it compiles and creates. */
  first_call_ms: number;
  /** Of which: each ONNX Runtime session creation, in order. */
  session_create_ms: number[];
  /** Of which: the session runs. */
  first_run_ms: number;
  /** A second call of the same kind (sessions warm): the steady cost. */
  second_call_ms: number;
  /** process.resourceUsage().maxRSS after both calls. */
  peak_rss_mb: number;
}

const [path, mode, n = '1', threads] = process.argv.slice(2);
if (!path || (mode !== 'forward' && mode !== 'gradient')) {
  process.stderr.write('usage: first-call.ts MODEL.onnx forward|gradient [N] [THREADS]\n');
  process.exit(2);
}

const sessionMs: number[] = [];
let runMs = 0;
// The node backend, timed: session creations and runs are what the first call spends outside netvis.
const timed: Backend = {
  name: nodeBackend.name,
  async createSession(model, options) {
    const t0 = performance.now();
    const session = await nodeBackend.createSession(model, options);
    sessionMs.push(Math.round(performance.now() - t0));
    return {
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      async run(feeds, outputs) {
        const t1 = performance.now();
        const out = await session.run(feeds, outputs);
        runMs += performance.now() - t1;
        return out;
      },
      release: () => session.release(),
    };
  },
};

const t0 = performance.now();
const model = decodeModel(readFileSync(path), path);
const labels = ClassLabels.fromJson(Array.from({ length: 1000 }, (_, i) => `class ${i}`));
const classifier = new Classifier(
  model,
  { labels, preprocessing: IMAGENET_PREPROCESSING, threads: threads ? Number(threads) : undefined },
  timed,
  path,
);
const loadMs = performance.now() - t0;
const batch = Number(n);
const x = {
  data: new Float32Array(batch * 3 * 224 * 224).map((_, i) => Math.sin(i)),
  dims: [batch, 3, 224, 224],
};
const seed = oneHot(
  Array.from({ length: batch }, (_, i) => i * 7),
  1000,
);
const call = () => (mode === 'forward' ? classifier.logits(x) : classifier.inputGradient(x, seed));
const t1 = performance.now();
await call();
const firstMs = performance.now() - t1;
const firstRunMs = runMs;
const t2 = performance.now();
await call();
const secondMs = performance.now() - t2;
const report: FirstCallReport = {
  mode,
  load_ms: Math.round(loadMs),
  first_call_ms: Math.round(firstMs),
  session_create_ms: sessionMs,
  first_run_ms: Math.round(firstRunMs),
  second_call_ms: Math.round(secondMs),
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
};
process.stdout.write(`${JSON.stringify(report)}\n`);
