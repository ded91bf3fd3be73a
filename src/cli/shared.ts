import { availableParallelism } from 'node:os';
import { Option, type Command } from 'commander';
import { loadClassifier } from '../model/load.js';
import type { Classifier } from '../model/classifier.js';
import { describeImport } from '../model/import.js';
import { downloadProgress } from './download-progress.js';
import { UsageError } from './errors.js';
import { withQuietOption } from './progress.js';

export { planOutputs, OutputSet, type OutputFormat, type PlannedOutput } from './outputs.js';
export {
  progressBar,
  withProgressOption,
  withQuietOption,
  type Progress,
  type ProgressFlags,
  type ProgressOptions,
} from './progress.js';

/** Options every model-using command takes. */
export interface ModelFlags {
  model?: string;
  labels?: string;
  logits?: string;
  threads?: number;
  verbose?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** Bounds of a numeric flag; `above` and `below` are exclusive (e.g. above 0 for "positive"), `min` and `max` not. */
export interface NumberBounds {
  integer?: boolean;
  min?: number;
  above?: number;
  max?: number;
  below?: number;
}

function describeBounds({ integer, min, above, max, below }: NumberBounds): string {
  const kind = integer ? 'an integer' : 'a number';
  if (max === undefined && below === undefined && ((integer && min === 1) || (!integer && above === 0)))
    return integer ? 'a positive integer' : 'a positive number';
  const low = min ?? above;
  const high = max ?? below;
  // A fraction or percentile reads best as an interval: [0, 1), (0, 100].
  if (!integer && low !== undefined && high !== undefined)
    return `in ${min === undefined ? '(' : '['}${low}, ${high}${max === undefined ? ')' : ']'}`;
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
  if (above !== undefined && max !== undefined) return `${kind} > ${above} and ≤ ${max}`;
  if (min !== undefined) return `${kind} ≥ ${min}`;
  if (above !== undefined) return `${kind} > ${above}`;
  if (max !== undefined) return `${kind} ≤ ${max}`;
  return kind;
}

/** Parses a numeric flag value within `bounds`; a value outside them is a UsageError naming the flag and the range. */
export function numberFlag(name: string, bounds: NumberBounds = {}): (value: string) => number {
  return (value) => {
    const n = Number(value);
    const { integer, min, above, max, below } = bounds;
    const ok =
      value.trim() !== '' &&
      Number.isFinite(n) &&
      (!integer || Number.isInteger(n)) &&
      (min === undefined || n >= min) &&
      (above === undefined || n > above) &&
      (max === undefined || n <= max) &&
      (below === undefined || n < below);
    if (!ok) throw new UsageError(`${name} must be ${describeBounds(bounds)}, got '${value}'`);
    return n;
  };
}

/** Parses an integer flag from 1 to `max` (default MAX_COUNT). */
export function positiveInt(name: string, max = MAX_COUNT): (value: string) => number {
  return numberFlag(name, { integer: true, min: 1, max });
}

/** The largest count (iterations, samples, masks, queries) a flag takes: beyond it a run would not end in a day. */
export const MAX_COUNT = 1_000_000;

/** Parses a number flag > 0: learning rates, step sizes, blur widths. */
export function positiveNumber(name: string): (value: string) => number {
  return numberFlag(name, { above: 0 });
}

/** Parses a number flag ≥ 0: budgets, penalty weights. */
export function nonNegativeNumber(name: string): (value: string) => number {
  return numberFlag(name, { min: 0 });
}

/** Parses any finite number flag. */
export function finiteNumber(name: string): (value: string) => number {
  return numberFlag(name);
}

/** Parses a seed: any integer. */
export function seedFlag(name = '--seed'): (value: string) => number {
  return numberFlag(name, { integer: true });
}

/** The most --threads netvis accepts: 4 per core (more only adds contention, and a huge count exhausts memory). */
export const MAX_THREADS = 4 * availableParallelism();

/**
 * Adds --model, --labels, --logits, --threads, --verbose and --quiet (a model given by URL is downloaded with
 * progress; `threadsHelp` says what --threads means for the command).
 */
export function withModelOptions(
  cmd: Command,
  threadsHelp = 'threads per ONNX Runtime session (default: all cores)',
): Command {
  return withQuietOption(cmd)
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
      new Option('--threads <n>', `${threadsHelp}; 1 to ${MAX_THREADS}`).argParser(
        positiveInt('--threads', MAX_THREADS),
      ),
    );
}

/**
 * Loads the classifier named by the model flags (showing a download's progress unless --quiet or --json; with
 * --verbose, the import's decisions).
 */
export async function classifierFrom(flags: ModelFlags): Promise<Classifier> {
  const progress = downloadProgress(flags.quiet || flags.json);
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
  } finally {
    progress.stop();
  }
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

/** Prints rows as a plain-text table on stdout: columns padded to their widest cell, two spaces apart. */
export function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((l) => l[c].length)));
  for (const l of rows)
    process.stdout.write(
      `${l
        .map((v, c) => v.padEnd(widths[c]))
        .join('  ')
        .trimEnd()}\n`,
    );
}

/** Prints a value as JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
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
