import { Option, type Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { writeFileAtomic } from '../util/atomic-write.js';
import { loadClassifier } from '../model/load.js';
import type { Classifier } from '../model/classifier.js';
import { describeImport } from '../model/import.js';
import { downloadProgress } from './download-progress.js';
import { UsageError } from './errors.js';

/** Options every model-using command takes. */
export interface ModelFlags {
  model?: string;
  labels?: string;
  logits?: string;
  threads?: number;
  verbose?: boolean;
  json?: boolean;
}

/** Parses a positive integer flag value. */
export function positiveInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new UsageError(`${name} must be a positive integer, got '${value}'`);
    return n;
  };
}

/** Parses a finite number flag value. */
export function finiteNumber(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n))
      throw new UsageError(`${name} must be a number, got '${value}'`);
    return n;
  };
}

/** Adds --model, --labels, --logits, --threads and --verbose. */
export function withModelOptions(cmd: Command): Command {
  return cmd
    .option(
      '-m, --model <name|path|url>',
      'model name (see netvis models list), .onnx file, or https:// URL (cached on first use)',
      'squeezenet1_1',
    )
    .option(
      '--labels <file>',
      "class labels JSON, or 'imagenet' (default: the model sidecar's or imagenet_classes.json beside it)",
    )
    .option('--logits <tensor>', 'the tensor holding the class scores (default: found in the graph)')
    .option('-v, --verbose', 'say on stderr what importing the model decided (logits, layout, opset, batch)')
    .addOption(
      new Option('--threads <n>', 'threads per ONNX Runtime session (default: all cores)').argParser(
        positiveInt('--threads'),
      ),
    );
}

/** Loads the classifier named by the model flags (showing a download's progress; with --verbose, the import's decisions). */
export async function classifierFrom(flags: ModelFlags): Promise<Classifier> {
  const progress = downloadProgress(flags.json);
  let classifier: Classifier;
  try {
    classifier = await loadClassifier({
      model: flags.model,
      labels: flags.labels,
      output: flags.logits,
      outputNamedBy: '--logits',
      threads: flags.threads,
      onDownload: (received, total) => progress.update(flags.model ?? '', received, total),
    });
  } catch (err) {
    progress.stop();
    throw err;
  }
  progress.done();
  if (flags.verbose && classifier.report)
    for (const line of describeImport(classifier.report)) process.stderr.write(`${line}\n`);
  return classifier;
}

/** Min, max and mean of a map, for --json output. */
export function mapStats(map: Float32Array): { min: number; max: number; mean: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of map) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { min, max, mean: sum / map.length };
}

/** Prints a value as JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes output files only once all of them are ready, each atomically: an interrupted run leaves none half-written. */
export async function writeOutputs(files: Record<string, Uint8Array | string>): Promise<void> {
  for (const [path, data] of Object.entries(files)) await writeFileAtomic(path, data);
}

/** Progress display flags: `json` silences the bar, `progress` prints lines when stderr is not a terminal. */
export interface ProgressFlags {
  json?: boolean;
  progress?: boolean;
}

/** Adds --progress to a command with long loops. */
export function withProgressOption(cmd: Command): Command {
  return cmd.option(
    '--progress',
    'print a progress line per step on stderr even when it is not a terminal (e.g. in logs)',
  );
}

/** Progress on stderr: a bar on a terminal (unless --json), a line per update with --progress elsewhere, else nothing. */
export function progressBar(
  total: number,
  label: string,
  flags: ProgressFlags,
): { update(value: number, info?: string): void; stop(): void } {
  if (!process.stderr.isTTY || flags.json) {
    if (!flags.progress) return { update() {}, stop() {} };
    return {
      update: (value, info = '') => void process.stderr.write(`${label}: step ${value}/${total} ${info}\n`),
      stop() {},
    };
  }
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {info}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0, { info: '' });
  return { update: (value, info = '') => bar.update(value, { info }), stop: () => bar.stop() };
}

/** Runs `fn` with a signal that aborts on Ctrl-C (SIGINT), so long loops stop cleanly and write nothing. */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new DOMException('interrupted', 'AbortError'));
  process.once('SIGINT', onSigint);
  try {
    return await fn(controller.signal);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
