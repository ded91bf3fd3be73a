import { Option, type Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { writeFileAtomic } from '../util/atomic-write.js';
import { loadClassifier } from '../model/load.js';
import type { Classifier } from '../model/classifier.js';
import { UsageError } from './errors.js';

/** Options every model-using command takes. */
export interface ModelFlags {
  model?: string;
  labels?: string;
  threads?: number;
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

/** Adds --model, --labels and --threads (`threadsHelp` says what --threads means for the command). */
export function withModelOptions(
  cmd: Command,
  threadsHelp = 'threads per ONNX Runtime session (default: all cores)',
): Command {
  return cmd
    .option('-m, --model <name|path>', 'model name on the search path or an .onnx file', 'squeezenet1_1')
    .option(
      '--labels <file>',
      'class labels JSON (default: the model sidecar or imagenet_classes.json beside it)',
    )
    .addOption(new Option('--threads <n>', threadsHelp).argParser(positiveInt('--threads')));
}

/** Loads the classifier named by the model flags. */
export function classifierFrom(flags: ModelFlags): Promise<Classifier> {
  return loadClassifier({ model: flags.model, labels: flags.labels, threads: flags.threads });
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
