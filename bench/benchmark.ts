import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { IMAGES, ROOT } from '../test/support/shared.js';
import { ratio, torchPython } from './harness.js';

// The workload: 100 images × {Saliency, Grad-CAM, IG-32} × {Pixel-Flipping, Faithfulness Correlation,
// Max-Sensitivity, Sparseness}. Settings both sides share (Quantus's defaults would take hours on 2 cores):
// Pixel-Flipping 48 steps (netvis flips 3136 of the 3·224² channel values per step; Quantus 1024 of the 224² pixels,
// 49 steps), Faithfulness Correlation 20 subsets of 224, Max-Sensitivity 5 noisy copies each explained again.
const METHODS = 'saliency,gradcam,ig[steps=32]';
const METRICS =
  'pixel-flipping[features-in-step=3136],faithfulness-correlation[nr-runs=20],max-sensitivity[nr-samples=5],sparseness';
const QUANTUS_ARGS = ['--pf-step', '1024', '--fc-runs', '20', '--ms-samples', '5', '--ig-steps', '32'];
const PEERS = '/work/peers';

/** 100 distinct images: the 25 shared ones as they are, mirrored, flipped and turned half round (JPEG, quality 95). */
async function makeImages(dir: string): Promise<void> {
  for (const name of readdirSync(IMAGES).sort()) {
    const base = name.replace(/\.[^.]+$/, '');
    const img = () => sharp(join(IMAGES, name)).rotate();
    await img()
      .jpeg({ quality: 95 })
      .toFile(join(dir, `${base}.jpg`));
    await img()
      .flop()
      .jpeg({ quality: 95 })
      .toFile(join(dir, `${base}_flop.jpg`));
    await img()
      .flip()
      .jpeg({ quality: 95 })
      .toFile(join(dir, `${base}_flip.jpg`));
    await img()
      .rotate(180)
      .jpeg({ quality: 95 })
      .toFile(join(dir, `${base}_rot180.jpg`));
  }
}

interface NetvisRun {
  workers: number;
  threadsEach: number;
  seconds: number;
  imagesPerSecond: number;
  peakWorkerMemoryMb: { heapUsed: number; arrayBuffers: number }[];
  processRssMb: number;
}

/** One `netvis benchmark` run (the built CLI) on a fresh database; its --json summary. */
function netvis(images: string, dir: string, workers: number, threads: number): NetvisRun {
  const tag = `${workers}w${threads}t`;
  const out = execFileSync(
    process.execPath,
    [
      join(ROOT, 'bin', 'netvis.js'),
      'benchmark',
      images,
      '--methods',
      METHODS,
      '--metrics',
      METRICS,
      '--workers',
      String(workers),
      '--threads',
      String(threads),
      '--db',
      join(dir, `${tag}.duckdb`),
      '--leaderboard',
      join(dir, `board-${tag}`),
      '--json',
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const s = JSON.parse(out) as {
    seconds: number;
    imagesPerSecond: number;
    workers: { peakMemoryMb: NetvisRun['peakWorkerMemoryMb']; processRssMb: number };
  };
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    workers,
    threadsEach: threads,
    seconds: round(s.seconds),
    imagesPerSecond: round(s.imagesPerSecond),
    peakWorkerMemoryMb: s.workers.peakMemoryMb,
    processRssMb: s.workers.processRssMb,
  };
}

/** Quantus + PyTorch on the same images and settings (bench/quantus_benchmark.py), or why not. */
function quantus(images: string): Record<string, unknown> | string {
  const py = torchPython();
  if (!py) return 'PyTorch not installed';
  const paths = ['quantus', 'captum'].map((p) => join(PEERS, p));
  if (!paths.every(existsSync))
    return `Quantus and Captum not laid out in ${PEERS} (see ../shared/peers/README.md)`;
  const out = execFileSync(
    py,
    [join(ROOT, 'bench', 'quantus_benchmark.py'), '--images', images, ...QUANTUS_ARGS],
    {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: paths.join(':') },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
}

/**
 * `npm run bench -- benchmark` (only when named: it takes tens of minutes): the benchmark workload with 1 and 2
 * worker threads (one ONNX Runtime thread each), and Quantus + PyTorch on the same work in between (interleaved, so
 * load on the machine hits both). Needs `npm run build` (it runs the built CLI).
 */
export async function run(): Promise<Record<string, unknown>> {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'netvis-benchmark-'));
  try {
    const images = join(dir, 'images');
    mkdirSync(images);
    await makeImages(images);
    const two = netvis(images, dir, 2, 1);
    const q = quantus(images);
    const one = netvis(images, dir, 1, 1);
    const qRate = typeof q === 'string' ? undefined : (q.images_per_second as number);
    return {
      workload: { images: readdirSync(images).length, methods: METHODS, metrics: METRICS },
      netvis: { oneWorker: one, twoWorkers: two },
      quantus: q,
      // Memory a second worker adds to the process (its ONNX Runtime sessions and arenas, its JS heap).
      perWorkerRssMb: two.processRssMb - one.processRssMb,
      goals: {
        'netvis 2 workers / Quantus images per second >= 5': ratio(two.imagesPerSecond, qRate),
        'scaling 1 -> 2 workers (images per second, near 2)': ratio(two.imagesPerSecond, one.imagesPerSecond),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
