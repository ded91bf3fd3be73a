import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { IMAGES, ROOT, runCli } from './support/shared.js';

// Run `npm run build` first: these spawn the built CLI. The work is cheap on purpose (Pixel-Flipping in 6 steps,
// 25 images × 2 methods × 2 metrics = 100 results) and never more than 2 model threads at once on 2 cores.
const dir = mkdtempSync(join(tmpdir(), 'netvis-bench-'));
const WORK = [
  'benchmark',
  IMAGES,
  '--methods',
  'saliency,gradcam',
  '--metrics',
  'pixel-flipping[features-in-step=25088],sparseness',
  '--threads',
  '1',
];

interface Row {
  image: string;
  method: string;
  metric: string;
  label: string;
  value: number;
}

/** The exported CSV's rows (one per image, method, metric) sorted by key; the columns compared across runs. */
function readExport(path: string): Row[] {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = header.split(',');
  const at = (name: string) => cols.indexOf(name);
  return lines
    .map((l) => l.split(','))
    .map((f) => ({
      image: f[at('image')],
      method: f[at('method')],
      metric: f[at('metric')],
      label: f[at('label')],
      value: Number(f[at('value')]),
    }))
    .sort((a, b) => `${a.image} ${a.method} ${a.metric}`.localeCompare(`${b.image} ${b.method} ${b.metric}`));
}

function assertOnePerKey(rows: Row[]): void {
  const keys = new Set(rows.map((r) => `${r.image}|${r.method}|${r.metric}`));
  assert.equal(keys.size, rows.length, 'a key appears twice');
  assert.equal(rows.length, 25 * 2 * 2);
  assert.ok(rows.every((r) => Number.isFinite(r.value)));
}

let reference: Row[];

before(async () => {
  const run = await runCli([
    ...WORK,
    '--workers',
    '2',
    '--db',
    join(dir, 'ref.duckdb'),
    '--leaderboard',
    join(dir, 'ref-board'),
    '--export',
    join(dir, 'ref.csv'),
  ]);
  assert.equal(run.code, 0, run.stderr);
  reference = readExport(join(dir, 'ref.csv'));
  assertOnePerKey(reference);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('benchmark killed with SIGKILL half-way and rerun: the same table as an uninterrupted run, no duplicate rows', async () => {
  const db = join(dir, 'killed.duckdb');
  let killedAt = 0;
  const board = join(dir, 'killed-board');
  const killed = await runCli([...WORK, '--workers', '2', '--progress', '--db', db, '--leaderboard', board], {
    onStderr: (text, kill) => {
      const done = [...text.matchAll(/benchmark: (\d+)\/100 results/g)].map((m) => Number(m[1]));
      if (!killedAt && (done.at(-1) ?? 0) >= 50) {
        killedAt = done.at(-1)!;
        kill('SIGKILL');
      }
    },
  });
  assert.equal(killed.code, null, 'killed by a signal');
  assert.ok(killedAt >= 50 && killedAt < 100, `killed at ${killedAt}/100`);
  const rerun = await runCli([
    ...WORK,
    '--workers',
    '2',
    '--db',
    db,
    '--leaderboard',
    board,
    '--export',
    join(dir, 'resumed.csv'),
    '--json',
  ]);
  assert.equal(rerun.code, 0, rerun.stderr);
  const summary = JSON.parse(rerun.stdout) as {
    results: { total: number; reused: number; computed: number };
  };
  // What was committed before the kill is reused, not recomputed.
  assert.equal(summary.results.total, 100);
  assert.ok(summary.results.reused >= killedAt, `reused ${summary.results.reused}, killed at ${killedAt}`);
  assert.equal(summary.results.reused + summary.results.computed, 100);
  const resumed = readExport(join(dir, 'resumed.csv'));
  assertOnePerKey(resumed);
  assert.deepEqual(resumed, reference);
});

/** A free loopback TCP port (asked of the OS, then released for the server to take). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A long-running process whose stderr (and stdout) is collected, with a promise of its exit. */
function start(
  cmd: string,
  args: string[],
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Resolves when `check` holds, polling every 100 ms; rejects after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('two netvis workers on a test Redis, one killed mid-job: every result exactly once, equal to the single-process run', async (t) => {
  const port = await freePort();
  const redisDir = mkdtempSync(join(tmpdir(), 'netvis-redis-'));
  const redis = start('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    redisDir,
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  t.after(async () => {
    redis.child.kill('SIGTERM');
    await redis.exited;
    rmSync(redisDir, { recursive: true, force: true });
  });
  await until(() => redis.output().includes('Ready to accept connections'), 10_000, 'redis-server');
  const url = `redis://127.0.0.1:${port}`;
  const bin = join(ROOT, 'bin', 'netvis.js');
  const benchmark = start(process.execPath, [
    bin,
    ...WORK,
    '--queue',
    url,
    '--db',
    join(dir, 'queue.duckdb'),
    '--leaderboard',
    join(dir, 'queue-board'),
    '--export',
    join(dir, 'queue.csv'),
    '--progress',
  ]);
  // One model thread each: two workers on two cores.
  const worker = () =>
    start(process.execPath, [
      bin,
      'worker',
      '--queue',
      url,
      '--workers',
      '1',
      '--threads',
      '1',
      '--stall-timeout',
      '2',
    ]);
  const victim = worker();
  const survivor = worker();
  t.after(() => {
    for (const p of [benchmark, victim, survivor]) p.child.kill('SIGKILL');
  });
  // Kill the victim once it has finished a job and started the next: that job is in flight.
  await until(
    () => /completed[\s\S]*started/.test(victim.output()),
    60_000,
    'the victim to start its second job',
  );
  victim.child.kill('SIGKILL');
  const inFlight = victim.output().match(/started (.*)\n?$/)![1];
  assert.equal(await benchmark.exited, 0, benchmark.output());
  // The job the victim died in was taken over by the survivor once its lock expired.
  assert.ok(
    survivor.output().includes(`completed ${inFlight}`),
    `${inFlight} not completed by the survivor:\n${survivor.output()}`,
  );
  survivor.child.kill('SIGTERM');
  assert.equal(await survivor.exited, 130);
  const rows = readExport(join(dir, 'queue.csv'));
  assertOnePerKey(rows);
  assert.deepEqual(rows, reference);
});
