// Class visualization per step: in the web app (headless Chromium, onnxruntime-web on WASM) and in Node
// (onnxruntime-node, what `netvis classviz` runs), on the same model, class and settings.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { classVisualization } from '../src/methods/featureviz/class-visualization.js';
import type { Classifier } from '../src/model/classifier.js';
import { loadClassifier } from '../src/model/load.js';
import { ROOT } from '../test/support/shared.js';
import { progress } from './harness.js';

const CHROMIUM = process.env.NETVIS_CHROMIUM ?? '/usr/bin/chromium';
const ITERATIONS = 40;
const ROUNDS = 3;
const TARGET = 'tarantula';

const round = (x: number) => Math.round(x * 10) / 10;

/** Node's class visualization: ms per step over steps 2…n of one run (step 1 compiles the gradient graph). */
async function nodeRun(classifier: Classifier): Promise<number> {
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
  return rest.reduce((a, b) => a + b, 0) / rest.length;
}

/** The web app in headless Chromium, on its class-visualization panel; `run()` gives the page's ms per step. */
async function openPage(): Promise<{ run(): Promise<number>; backend: string; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  const server = spawn(process.execPath, [join(ROOT, 'bin', 'netvis.js'), 'serve', '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const userDataDir = mkdtempSync(join(tmpdir(), 'netvis-bench-chromium-'));
  const cleanup = () => {
    server.kill('SIGINT');
    rmSync(userDataDir, { recursive: true, force: true });
  };
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
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${url}#classviz`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
    await page.fill('#cv-class', TARGET);
    await page.fill('#cv-iterations', String(ITERATIONS));
    return {
      backend: (await page.textContent('#backend')) ?? '',
      // The page's own figure: mean over steps 2…n, pauses excluded.
      async run() {
        await page.click('#cv-start');
        await page.waitForSelector('#panel-classviz[data-state="running"]');
        await page.waitForSelector('#panel-classviz[data-state="done"]', { timeout: 600_000 });
        return Number(await page.getAttribute('#cv-score', 'data-ms-per-step'));
      },
      async close() {
        await context.close();
        cleanup();
      },
    };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** Class visualization ms per step: page (WASM) vs Node, runs alternating, after one warm-up run each. */
export async function run(): Promise<Record<string, unknown>> {
  const classifier = await loadClassifier();
  progress('web: starting netvis serve and headless Chromium');
  const page = await openPage();
  const node: number[] = [];
  const web: number[] = [];
  try {
    progress(
      `web: class visualization, ${ROUNDS} runs of ${ITERATIONS} steps each in Node and in the page, alternating`,
    );
    await nodeRun(classifier);
    await page.run();
    for (let r = 0; r < ROUNDS; r++) {
      node.push(await nodeRun(classifier));
      web.push(await page.run());
      progress(
        `web: run ${r + 1} of ${ROUNDS}: Node ${round(node[r])} ms/step, page ${round(web[r])} ms/step`,
      );
    }
  } finally {
    await page.close();
    await classifier.dispose();
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const ratioPageOverNode = Math.round((median(web) / median(node)) * 100) / 100;
  return {
    class_visualization: { class: TARGET, iterations: ITERATIONS, steps_timed: ITERATIONS - 1, runs: ROUNDS },
    page_wasm_ms_per_step: round(median(web)),
    page_backend: page.backend,
    node_ms_per_step: round(median(node)),
    ratio_page_over_node: ratioPageOverNode,
    goals: { 'page <= 2x node': { ratio: ratioPageOverNode, met: ratioPageOverNode <= 2 } },
  };
}
