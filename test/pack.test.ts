// The npm package on its own: packed, installed into an empty folder with an empty HOME and no ../shared beside it,
// `netvis report` runs on what ships (model, labels, sample images). Uses npm's cache, so it needs no network when the
// project's own dependencies were installed with npm ci.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from './support/shared.js';

const run = promisify(execFile);

test('npm pack, npm install in an empty folder with an empty HOME, then netvis report writes index.html and its figures', async (t) => {
  const started = Date.now();
  const { stdout: cache } = await run('npm', ['config', 'get', 'cache'], { cwd: ROOT });
  const root = mkdtempSync(join(tmpdir(), 'netvis-pack-'));
  const home = join(root, 'home');
  const app = join(root, 'app');
  mkdirSync(home);
  mkdirSync(app);
  // The build is current (npm test builds first): pack it as it is.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], {
    cwd: ROOT,
  });
  const [{ filename, size }] = JSON.parse(packed.stdout) as { filename: string; size: number }[];
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'try-netvis', private: true }));
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    npm_config_cache: cache.trim(),
    // onnxruntime-node would fetch its optional CUDA libraries at install; its CPU build ships in the package.
    ONNXRUNTIME_NODE_INSTALL: 'skip',
  };
  await run(
    'npm',
    ['install', join(root, filename), '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: app, env },
  );
  const installed = Date.now();
  // One of the installed sample images keeps it quick (the default five are what cli.test.ts's report runs on).
  const sample = join(app, 'node_modules', 'netvis', 'samples', 'n01774750_tarantula.JPEG');
  const report = await run(
    'npx',
    ['--no-install', 'netvis', 'report', '--images', sample, '--iterations', '2', '--out', 'report'],
    { cwd: app, env },
  );
  assert.match(report.stdout, /wrote .*report\/index\.html/);
  const files = readdirSync(join(app, 'report')).sort();
  for (const f of [
    'index.html',
    'saliency.png',
    'fooling.png',
    'attribution-gradient.png',
    'classviz-tarantula.png',
  ])
    assert.ok(files.includes(f), f);
  assert.ok(!existsSync(join(root, 'shared')) && !existsSync(join(app, '..', 'shared')));
  t.diagnostic(
    `package ${(size / 1e6).toFixed(1)} MB; pack + install ${((installed - started) / 1000).toFixed(1)} s, report ${((Date.now() - installed) / 1000).toFixed(1)} s`,
  );
});
