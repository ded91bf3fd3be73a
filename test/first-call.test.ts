// The first gradient call of a transformer-sized graph: compiled from statically inferred shapes (no forward
// run with every tensor as an output), its peak memory measured in a fresh process next to a forward-only one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { gradientRules } from '../src/autodiff/rules/index.js';
import type { FirstCallReport } from './support/first-call.js';
import { ROOT, SHARED } from './support/shared.js';

const run = promisify(execFile);
const SWIN = join(SHARED, 'fixtures', 'modern', 'swin_mini.onnx');

/** Runs test/support/first-call.ts in a fresh process (peak RSS is per process). */
async function firstCall(mode: 'forward' | 'gradient'): Promise<FirstCallReport> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test', 'support', 'first-call.ts'), SWIN, mode, '1', '1'],
    { cwd: ROOT },
  );
  return JSON.parse(stdout) as FirstCallReport;
}

// Swin's gradient needs the LayerNormalization rule (issue 10, item 1).
const skip = !gradientRules.LayerNormalization && 'no LayerNormalization gradient rule yet';

test('swin_mini: first gradient call, peak RSS next to a forward-only session', { skip }, async (t) => {
  const forward = await firstCall('forward');
  const gradient = await firstCall('gradient');
  const ratio = gradient.peak_rss_mb / forward.peak_rss_mb;
  t.diagnostic(
    `forward only: peak RSS ${forward.peak_rss_mb} MB, first call ${forward.first_call_ms} ms ` +
      `(session ${forward.session_create_ms.join('+')} ms, run ${forward.first_run_ms} ms)`,
  );
  t.diagnostic(
    `first gradient call: peak RSS ${gradient.peak_rss_mb} MB (${ratio.toFixed(2)}× forward), ` +
      `${gradient.first_call_ms} ms (sessions ${gradient.session_create_ms.join('+')} ms, run ${gradient.first_run_ms} ms)`,
  );
  // One session: the compiled graph's. A second one would be a probe run.
  assert.equal(gradient.session_create_ms.length, 1, 'sessions created by the first gradient call');
  assert.ok(ratio <= 2, `peak RSS ${ratio.toFixed(2)}× a forward-only session's`);
});
