import { Command } from 'commander';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { decodeImage } from '../image/decode.js';
import { resizeBilinear, centerCrop, resizeShorterSide } from '../image/resize.js';
import { attributionMethod } from '../methods/attribution/registry.js';
import { METRICS } from '../methods/evaluation/registry.js';
import type { Classifier } from '../model/classifier.js';
import { renderLeaderboardHtml, type Estimate, type Leaderboard } from '../render/leaderboard.js';
import { methodGrid } from '../render/method-grid.js';
import type { ResultsDatabase, RunSelection } from '../runner/database.js';
import { readDataset } from '../runner/manifest.js';
import type { HashedItem, PlannedTask } from '../runner/plan.js';
import { SpecError, parseSpecs, type Spec } from '../runner/spec.js';
import { bootstrapMean } from '../runner/summary.js';
import { checkSpecs, type TaskResult } from '../runner/task.js';
import { InterruptedError, UsageError } from './errors.js';
import { checkUpdatedFile } from './outputs.js';
import { poolSize, withPoolOptions, type PoolFlags } from './pool-options.js';
import { formatDuration } from './progress.js';
import { checkMethodOptions } from './attribute.js';
import {
  classifierFrom,
  printJson,
  printTable,
  withInterrupt,
  withModelOptions,
  planOutputs,
  progressBar,
  withProgressOption,
  type ModelFlags,
  type ProgressFlags,
} from './shared.js';

interface BenchmarkFlags extends ModelFlags, ProgressFlags, PoolFlags {
  methods: string;
  metrics: string;
  db: string;
  export?: string;
  leaderboard: string;
  queue?: string;
}

/** Parses a --methods/--metrics list, turning malformed input into a usage error. */
function specsFrom(text: string, flag: string): Spec[] {
  try {
    return parseSpecs(text, flag);
  } catch (err) {
    if (err instanceof SpecError) throw new UsageError(err.message);
    throw err;
  }
}

/** The format of an --export file, by its extension; a UsageError for another. */
function exportFormat(path: string): 'csv' | 'parquet' {
  const ext = extname(path).toLowerCase();
  if (ext !== '.csv' && ext !== '.parquet')
    throw new UsageError(`--export ${path}: expected a .csv or .parquet file`);
  return ext === '.csv' ? 'csv' : 'parquet';
}

/** The run's results as an --export file's bytes (DuckDB writes them to a temporary file first) and their row count. */
async function exportRun(
  db: ResultsDatabase,
  run: RunSelection,
  path: string,
): Promise<{ bytes: Uint8Array; rows: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'netvis-export-'));
  try {
    const temp = join(dir, `results.${exportFormat(path)}`);
    const rows = await db.export(run, temp);
    return { bytes: await readFile(temp), rows };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The file name of the leaderboard's figure of the `i`-th image (from 0). */
function figureName(i: number, item: HashedItem['item']): string {
  return `image-${String(i + 1).padStart(4, '0')}-${basename(item.name).replace(/\.[^.]+$/, '')}.png`;
}

/** The leaderboard page and its per-image figures (each image and its maps, at the stored maps' size). */
async function leaderboardFiles(
  db: ResultsDatabase,
  run: RunSelection,
  items: HashedItem[],
  classifier: Classifier,
  estimates: Record<string, Record<string, Estimate>>,
  meta: Record<string, string>,
): Promise<Record<string, Uint8Array | string>> {
  const rows = await db.runRows(run);
  const maps = await db.runMaps(run);
  const methods = run.methods.map((s) => s.label);
  const files: Record<string, Uint8Array | string> = {};
  const images: Leaderboard['images'] = [];
  for (const [i, { item, hash }] of items.entries()) {
    // Every image has its results by now: a run that could not compute one failed before.
    const mine = rows.filter((r) => r.imageHash === hash);
    const values: Record<string, Record<string, number>> = {};
    for (const r of mine) (values[r.method] ??= {})[r.metric] = r.value;
    const p = classifier.preprocessing;
    const crop = centerCrop(resizeShorterSide(await decodeImage(item.path), p.resize), p.crop);
    const stored = methods.map((m) => maps.get(`${hash}\u0000${m}`));
    const first = stored.find(Boolean);
    const thumb = first ? resizeBilinear(crop, first.width, first.height) : crop;
    const label = classifier.labels.name(mine[0].label);
    const figure = figureName(i, item);
    files[figure] = await methodGrid([
      {
        image: thumb,
        caption: label,
        panels: run.methods.flatMap((m, k) => {
          const { sign = 'absolute', overlay } = attributionMethod(m.name)!.display;
          return stored[k]?.width === thumb.width
            ? [{ caption: m.label, map: stored[k].data, style: { sign, overlay, clipPercentile: 99 } }]
            : [];
        }),
      },
    ]);
    images.push({ name: item.name, label, figure, values });
  }
  const board: Leaderboard = {
    title: 'Attribution benchmark',
    meta,
    methods,
    metrics: run.metrics.map((m) => ({
      label: m.label,
      title: METRICS[m.name].name,
      category: METRICS[m.name].category,
      direction: METRICS[m.name].direction,
      paper: METRICS[m.name].paper,
    })),
    estimates,
    images,
  };
  files['index.html'] = renderLeaderboardHtml(board);
  return files;
}

/** Checks the form of a --queue URL before any work (a usage error); the server itself is reached later. */
export async function checkQueueUrl(url: string): Promise<void> {
  const { redisOptions } = await import('../runner/queue.js');
  try {
    redisOptions(url);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `netvis benchmark IMAGES_DIR|MANIFEST --methods … --metrics …`: attribution methods × metrics over a dataset. */
export function benchmarkCommand(): Command {
  return withModelOptions(
    withPoolOptions(withProgressOption(new Command('benchmark')))
      .description(
        'score attribution methods with evaluation metrics over a folder or manifest of images, on every core or on workers across machines; results go to a database as they finish, so a rerun continues where a run stopped',
      )
      .argument(
        '<dataset>',
        'a folder of images, or a manifest: .csv or .jsonl with path, optional label, box, mask',
      )
      .requiredOption(
        '--methods <list>',
        'attribution methods, comma-separated, each with optional options: saliency,gradcam,ig[steps=32]',
      )
      .requiredOption(
        '--metrics <list>',
        'metrics, comma-separated, with optional options: pixel-flipping,sparseness,max-sensitivity[nr-samples=10]',
      )
      .option('--db <file>', 'DuckDB file the results are kept in (created if missing)', 'benchmark.duckdb')
      .option(
        '--export <file>',
        "write this run's results to a .csv or .parquet file (one row per image, method, metric)",
      )
      .option(
        '--leaderboard <dir>',
        'folder for the HTML leaderboard (index.html and per-image figures)',
        'leaderboard',
      )
      .option(
        '--queue <url>',
        'run on `netvis worker` processes through BullMQ on this Redis: redis://HOST:PORT',
      )
      .option('--json', 'print the summary (means, intervals, throughput, memory) as JSON'),
    'ONNX Runtime threads per worker (default: the cores shared out among the workers)',
  ).action(async (dataset: string, flags: BenchmarkFlags) => {
    const methods = specsFrom(flags.methods, '--methods');
    checkMethodOptions(methods);
    const asked = specsFrom(flags.metrics, '--metrics');
    if (flags.export) exportFormat(flags.export);
    if (flags.queue && flags.workers)
      throw new UsageError(
        '--workers applies to this machine; with --queue, give it to each `netvis worker`',
      );
    if (flags.queue) await checkQueueUrl(flags.queue);
    const items = await readDataset(dataset);
    let metrics: Spec[];
    try {
      metrics = checkSpecs(
        methods,
        asked,
        items.every((i) => i.box ?? i.mask),
      );
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { hashFile, planTasks, loadTask } = await import('../runner/plan.js');
    const { ResultsDatabase, resultKey } = await import('../runner/database.js');
    const hashed: HashedItem[] = [];
    const byHash = new Map<string, string>();
    for (const item of items) {
      const hash = await hashFile(item.path);
      const twin = byHash.get(hash);
      if (twin !== undefined) {
        process.stderr.write(`netvis: ${item.name} has the same content as ${twin}; counted once\n`);
        continue;
      }
      byHash.set(hash, item.name);
      hashed.push({ item, hash });
    }
    // Every path is checked before the model is loaded and any result computed; the leaderboard and the export are
    // written together at the end, or neither.
    await checkUpdatedFile('--db', flags.db, 'benchmark.duckdb');
    const pages = [
      ...hashed.map(({ item }, i) => join(flags.leaderboard, figureName(i, item))),
      join(flags.leaderboard, 'index.html'),
    ];
    const outputs = await planOutputs(
      [
        ...pages.map((path) => ({
          flag: '--leaderboard',
          path,
          format: path.endsWith('.html') ? ('html' as const) : ('png' as const),
        })),
        ...(flags.export
          ? [{ flag: '--export', path: flags.export, format: exportFormat(flags.export) }]
          : []),
      ],
      { flag: '--leaderboard', path: flags.leaderboard },
    );
    const classifier = await classifierFrom({ ...flags, threads: 1 });
    // Labels are checked here, before any work, so a typo fails at once and names its row.
    for (const item of items) if (item.label !== undefined) classifier.labels.resolve(item.label);
    const model = { ref: flags.model ?? 'squeezenet1_1', hash: await hashFile(classifier.source) };
    const db = await ResultsDatabase.open(flags.db);
    const run: RunSelection = { modelHash: model.hash, images: byHash, methods, metrics };
    const { workers, threads } = poolSize(flags);
    let pool: import('../runner/pool.js').TaskPool | undefined;
    try {
      const done = await db.doneKeys(model.hash);
      const keys = hashed.flatMap(({ hash }) =>
        methods.flatMap((m) => metrics.map((x) => resultKey(hash, m, x))),
      );
      const isDone = () => keys.filter((k) => done.has(k)).length;
      const already = isDone();
      const tasks = planTasks(hashed, model, methods, metrics, done);
      const t0 = performance.now();
      if (tasks.length) {
        if (flags.queue) await (await import('../runner/queue.js')).checkRedis(flags.queue);
        const progress = progressBar(keys.length, 'benchmark', flags, { start: already, unit: 'results' });
        const onResult = async (planned: PlannedTask, result: TaskResult) => {
          await db.record(
            { ...planned, images: planned.images.map(({ item, hash }) => ({ hash, name: item.name })) },
            result,
          );
          for (const img of planned.images)
            for (const metric of planned.metrics) done.add(resultKey(img.hash, planned.method, metric));
          progress.update(isDone());
        };
        try {
          await withInterrupt(async (signal) => {
            try {
              if (flags.queue) {
                const { runOnQueue } = await import('../runner/queue.js');
                await runOnQueue(flags.queue, tasks, { load: loadTask, onResult, signal });
              } else {
                const { TaskPool, runOnPool } = await import('../runner/pool.js');
                const local = new TaskPool(
                  { model: classifier.source, labels: flags.labels, threads },
                  workers,
                  flags.workerMemory,
                );
                pool = local;
                await runOnPool(local, tasks, {
                  run: async (t) => local.run(await loadTask(t)),
                  onResult,
                  signal,
                });
              }
            } catch (err) {
              if (signal.aborted)
                throw new InterruptedError(
                  `${isDone()} of ${keys.length} results are in ${flags.db}: run the same command again to continue`,
                );
              throw err;
            }
          });
        } finally {
          progress.stop();
        }
      }
      const wall = (performance.now() - t0) / 1000;
      const computed = isDone() - already;
      const rows = await db.runRows(run);
      const methodLabels = methods.map((s) => s.label);
      const estimates: Record<string, Record<string, Estimate>> = {};
      for (const m of methodLabels)
        for (const x of metrics.map((s) => s.label))
          (estimates[m] ??= {})[x] = bootstrapMean(
            rows.filter((r) => r.method === m && r.metric === x).map((r) => r.value),
          );
      const memory = pool ? [...pool.memory.values()] : [];
      const mb = (b: number) => Math.round(b / 2 ** 20);
      const where = flags.queue
        ? `queue ${flags.queue}`
        : `${workers} worker thread${workers === 1 ? '' : 's'} × ${threads} ONNX Runtime thread${threads === 1 ? '' : 's'}`;
      const meta = {
        dataset,
        images: String(hashed.length),
        model: `${model.ref} (sha256 ${model.hash.slice(0, 12)}…)`,
        methods: methodLabels.join(', '),
        metrics: metrics.map((s) => s.label).join(', '),
        database: `${flags.db} (${rows.length} rows for this run)`,
        intervals: '95% percentile bootstrap of the mean over images, 2000 resamples, seed 0',
        'this run': `${computed} new results in ${formatDuration(wall * 1000)} on ${where}`,
      };
      const board = Object.fromEntries(
        Object.entries(await leaderboardFiles(db, run, hashed, classifier, estimates, meta)).map(([f, d]) => [
          join(flags.leaderboard, f),
          d,
        ]),
      );
      const exported = flags.export ? await exportRun(db, run, flags.export) : undefined;
      await outputs.write({ ...board, ...(exported && { [flags.export!]: exported.bytes }) });
      const imagesPerSecond = computed > 0 ? computed / (methods.length * metrics.length) / wall : undefined;
      const summary = {
        db: flags.db,
        leaderboard: join(flags.leaderboard, 'index.html'),
        ...(exported && { export: { path: flags.export, rows: exported.rows } }),
        images: hashed.length,
        results: { total: keys.length, reused: already, computed },
        seconds: wall,
        imagesPerSecond,
        ...(flags.queue
          ? { queue: flags.queue }
          : {
              workers: {
                count: workers,
                threadsEach: threads,
                heapLimitMb: flags.workerMemory,
                peakMemoryMb: memory.map((m) => ({
                  heapUsed: mb(m.heapUsed),
                  arrayBuffers: mb(m.arrayBuffers),
                })),
                processRssMb: mb(Math.max(0, ...memory.map((m) => m.rss))),
              },
            }),
        estimates,
      };
      if (flags.json) {
        printJson(summary);
        return;
      }
      const lines = [
        ['method', ...metrics.map((m) => `${m.label} ${METRICS[m.name].direction === 'higher' ? '↑' : '↓'}`)],
      ];
      for (const m of methodLabels)
        lines.push([
          m,
          ...metrics.map((x) => {
            const e = estimates[m][x.label];
            return `${e.mean.toPrecision(3)} [${e.low.toPrecision(3)}, ${e.high.toPrecision(3)}]`;
          }),
        ]);
      printTable(lines);
      process.stdout.write(
        `(mean over ${hashed.length} image${hashed.length === 1 ? '' : 's'} [95% bootstrap interval]; ↑ higher is better, ↓ lower)\n` +
          `${computed} new results in ${formatDuration(wall * 1000)}${imagesPerSecond ? ` (${imagesPerSecond.toFixed(2)} images/s)` : ''}, ${already} already in ${flags.db}\n` +
          (memory.length
            ? `workers: ${workers} × ${threads} thread${threads === 1 ? '' : 's'}; peak per worker: ${memory.map((m) => `${mb(m.heapUsed + m.arrayBuffers)} MB`).join(', ')} (JS heap + buffers, heap limit ${flags.workerMemory} MB); process RSS ${mb(Math.max(...memory.map((m) => m.rss)))} MB\n`
            : '') +
          `wrote ${join(flags.leaderboard, 'index.html')}${exported ? ` and ${flags.export} (${exported.rows} rows)` : ''}\n`,
      );
    } finally {
      await pool?.destroy();
      db.close();
      await classifier.dispose();
    }
  });
}
