// AutoAttack standard (APGD-CE, APGD-T, FAB-T, Square 5000) on 20 shared images: netvis in this process, netvis's
// CLI (`netvis robustness --attack autoattack`, two worker threads of one ONNX Runtime thread each) and the
// reference implementation (fra31/auto-attack, scripts/autoattack-reference.py) in a fresh PyTorch process, taking
// turns; the first two are timed on the attack alone (model loading excluded), the CLI as a whole process.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoAttack } from '../src/methods/adversarial/autoattack.js';
import { loadClassifier } from '../src/model/load.js';
import { sliceBatch, type Tensor } from '../src/tensor.js';
import { encodeNpy } from '../src/util/npy.js';
import { readNpy } from '../test/support/npy.js';
import { REFERENCE, ROOT, referenceMeta } from '../test/support/shared.js';
import { progress, ratio, torchPython } from './harness.js';
import { goal } from './suite.js';

const IMAGES = 20;
const ROUNDS = Number(process.env.NETVIS_BENCH_ROUNDS ?? 1);
// The ε of the test fixture (a budget that leaves some images robust, so that every stage runs).
const EPS = (
  JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'autoattack-reference.json'), 'utf8')) as {
    eps: number;
  }
).eps;
// The reference's source tree (../shared/peers/README.md); NETVIS_PEERS overrides.
const PEERS = process.env.NETVIS_PEERS ?? join(ROOT, '..', 'peers');

interface ReferenceRun {
  seconds: number;
  clean: number;
  robust: number;
  broke: Record<string, number>;
  /** Each attack's own time, from the reference's log. */
  stage_seconds?: Record<string, number>;
}

/** One run of the reference AutoAttack standard, or undefined without PyTorch or the peer. */
function referenceRun(): Promise<ReferenceRun | undefined> {
  const py = torchPython();
  if (!py || !existsSync(join(PEERS, 'autoattack', 'autoattack'))) return Promise.resolve(undefined);
  const args = ['scripts/autoattack-reference.py', '--config', 'standard', '--images', `${IMAGES}`];
  return new Promise((resolve, reject) => {
    const child = spawn(py, [...args, '--eps', `${EPS}`], {
      cwd: ROOT,
      env: { ...process.env, PYTHONPATH: join(PEERS, 'autoattack') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`autoattack-reference.py exited with ${code}`));
      // The script's last stdout line is its JSON result (AutoAttack's own log lines come before it).
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ReferenceRun);
    });
  });
}

interface CliRun {
  seconds: number;
  workers: number;
  robust: number;
  broke: Record<string, number>;
}

/**
 * One run of `netvis robustness --attack autoattack` (the built CLI, 2 worker threads × 1 ONNX Runtime thread) on the
 * reference's own input tensors (one .npy per image, labels from a manifest), timed as a whole process.
 */
function cliRun(images: Tensor, labels: number[]): Promise<CliRun> {
  const dir = mkdtempSync(join(tmpdir(), 'netvis-bench-autoattack-'));
  const rows = labels.map((label, i) => {
    const path = join(dir, `${i}.npy`);
    const row = sliceBatch(images, i);
    writeFileSync(path, encodeNpy(row.data, row.dims));
    return `${path},${label}`;
  });
  writeFileSync(join(dir, 'images.csv'), `path,label\n${rows.join('\n')}\n`);
  const workers = 2;
  const args = [
    join(ROOT, 'bin', 'netvis.js'),
    'robustness',
    join(dir, 'images.csv'),
    '--attack',
    'autoattack',
    '--eps',
    `${EPS}`,
    '--workers',
    `${workers}`,
    '--threads',
    '1',
    '--quiet',
    '--json',
    '-o',
    join(dir, 'curve.png'),
  ];
  const t0 = performance.now();
  return new Promise<CliRun>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`netvis robustness exited with ${code}`));
      const json = JSON.parse(out) as { accuracy: number[]; broke: { attack: string; broke: number }[] };
      resolve({
        seconds: (performance.now() - t0) / 1000,
        workers,
        robust: Math.round(json.accuracy.at(-1)! * labels.length),
        broke: Object.fromEntries(json.broke.map((b) => [b.attack, b.broke])),
      });
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** AutoAttack standard on 20 images at the fixture's ε: netvis (in process, and its CLI on 2 workers) vs the reference on PyTorch, taking turns. */
export async function run(): Promise<Record<string, unknown>> {
  const meta = referenceMeta();
  const images = sliceBatch(readNpy(join(REFERENCE, 'inputs.npy')), 0, IMAGES);
  const labels = meta.labels.slice(0, IMAGES);
  const classifier = await loadClassifier();
  const netvis: {
    seconds: number;
    robust: number;
    broke: Record<string, number>;
    stageSeconds: Record<string, number>;
  }[] = [];
  const reference: ReferenceRun[] = [];
  const cli: CliRun[] = [];
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  const ours = async () => {
    const t0 = performance.now();
    const r = await autoAttack(classifier, images, { eps: EPS, labels });
    netvis.push({
      seconds: (performance.now() - t0) / 1000,
      robust: Math.round(r.robustAccuracy * IMAGES),
      broke: Object.fromEntries(r.stages.map((s) => [s.attack, s.broke])),
      stageSeconds: Object.fromEntries(r.stages.map((s) => [s.attack, +s.seconds.toFixed(1)])),
    });
  };
  const theirs = async () => {
    const r = await referenceRun();
    if (r) reference.push(r);
  };
  const parallel = async () => {
    cli.push(await cliRun(images, labels));
  };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      progress(`autoattack: standard, ${IMAGES} images, ε ${EPS}/255, round ${round + 1} of ${ROUNDS}`);
      // Who goes first alternates, so both see the same load on the machine.
      for (const step of round % 2 === 0 ? [ours, theirs, parallel] : [parallel, theirs, ours]) await step();
    }
  } finally {
    await classifier.dispose();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ours_s = median(netvis.map((r) => r.seconds));
  const theirs_s = reference.length ? median(reference.map((r) => r.seconds)) : undefined;
  const cli_s = median(cli.map((r) => r.seconds));
  const r = ratio(ours_s, theirs_s);
  const rCli = ratio(cli_s, theirs_s);
  progress(
    `autoattack: netvis ${ours_s.toFixed(1)} s, netvis robustness --workers 2 ${cli_s.toFixed(1)} s, reference ${theirs_s?.toFixed(1) ?? '(not run)'} s`,
  );
  return {
    eps: EPS,
    images: IMAGES,
    netvis,
    netvisCli: cli,
    reference: reference.length ? reference : 'not run: needs PyTorch and ../peers/autoattack',
    ratio: r,
    ratioCli: rCli,
    goals: {
      'autoattack_standard_n20 <= 0.5x': goal(r, 0.5),
      'autoattack_standard_n20, netvis robustness --workers 2 <= 0.5x': goal(rCli, 0.5),
    },
  };
}
