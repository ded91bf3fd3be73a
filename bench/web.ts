// Class visualization per step: in the web app (headless Chromium, onnxruntime-web on WASM) and in Node
// (onnxruntime-node, what `netvis classviz` runs), on the same model, class and settings.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { classVisualization } from '../src/methods/featureviz/class-visualization.js';
import { loadClassifier } from '../src/model/load.js';
import { ROOT } from '../test/support/shared.js';

const CHROMIUM = process.env.NETVIS_CHROMIUM ?? '/usr/bin/chromium';
const ITERATIONS = 40;
const TARGET = 'tarantula';

const round = (x: number) => Math.round(x * 10) / 10;

/** Mean ms per step over steps 2…n (step 1 compiles the gradient graph), and step 1's time. */
async function nodeRun(): Promise<{ msPerStep: number; firstStepMs: number }> {
  const classifier = await loadClassifier();
  try {
    let result = { msPerStep: 0, firstStepMs: 0 };
    // The second run is measured: the first warms up the same way the page's first run does.
    for (let run = 0; run < 2; run++) {
      const times: number[] = [];
      let last = performance.now();
      await classVisualization(classifier, TARGET, {
        iterations: ITERATIONS,
        showEvery: ITERATIONS,
        onStep: () => {
          const now = performance.now();
          times.push(now - last);
          last = now;
        },
      });
      const rest = times.slice(1);
      result = { msPerStep: rest.reduce((a, b) => a + b, 0) / rest.length, firstStepMs: times[0] };
    }
    return result;
  } finally {
    await classifier.dispose();
  }
}

/** The page's own figure (mean over steps 2…n, pauses excluded), second of two runs, and the page's WASM threads. */
async function pageRun(): Promise<{ msPerStep: number; backend: string }> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  const server = spawn(process.execPath, [join(ROOT, 'bin', 'netvis.js'), 'serve', '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const userDataDir = mkdtempSync(join(tmpdir(), 'netvis-bench-chromium-'));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/\S+\/)/.exec(out);
        if (m) resolve(m[1]);
      });
      server.on('exit', (code) => reject(new Error(`netvis serve exited with ${code}`)));
    });
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-quic',
        '--no-first-run',
        '--disable-sync',
      ],
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${url}#classviz`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
      await page.fill('#cv-class', TARGET);
      await page.fill('#cv-iterations', String(ITERATIONS));
      let msPerStep = NaN;
      for (let run = 0; run < 2; run++) {
        await page.click('#cv-start');
        await page.waitForSelector('#panel-classviz[data-state="running"]');
        await page.waitForSelector('#panel-classviz[data-state="done"]', { timeout: 600_000 });
        msPerStep = Number(await page.getAttribute('#cv-score', 'data-ms-per-step'));
      }
      return { msPerStep, backend: (await page.textContent('#backend')) ?? '' };
    } finally {
      await context.close();
    }
  } finally {
    server.kill('SIGINT');
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

/** Class visualization ms per step: page (WASM) vs Node. */
export async function run(): Promise<Record<string, unknown>> {
  const node = await nodeRun();
  const page = await pageRun();
  return {
    class_visualization: { class: TARGET, iterations: ITERATIONS, steps_timed: ITERATIONS - 1 },
    page_wasm_ms_per_step: round(page.msPerStep),
    page_backend: page.backend,
    node_ms_per_step: round(node.msPerStep),
    node_first_step_ms: round(node.firstStepMs),
    ratio_page_over_node: Math.round((page.msPerStep / node.msPerStep) * 100) / 100,
  };
}
