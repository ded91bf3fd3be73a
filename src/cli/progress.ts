// Progress of long runs on stderr: a bar on a terminal, lines elsewhere (logs, CI), nothing with --quiet.
import { Presets, SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';

/** Progress flags: `quiet` silences progress, `progress` prints a line at every step instead of a bar or timed lines. */
export interface ProgressFlags {
  progress?: boolean;
  quiet?: boolean;
}

/** Progress of one loop: `update` with the steps done so far (and a short note), `stop` when it ends however it ends. */
export interface Progress {
  update(value: number, info?: string): void;
  stop(): void;
}

/** Where progress goes and how often lines are printed; tests pass their own. */
export interface ProgressOutput {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** Milliseconds between lines when the stream is not a terminal; default 5000. */
  intervalMs?: number;
  now?: () => number;
}

/** Adds --progress and --quiet to a command with long loops. */
export function withProgressOption(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--progress',
        'print a progress line at every step (when stderr is not a terminal, a line every 5 s is the default)',
      ).conflicts('quiet'),
    )
    .option('-q, --quiet', 'print no progress on stderr');
}

/** Milliseconds as "4.2 s", "3 min 05 s" or "1 h 02 min". */
function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * Progress of a loop of `total` steps on stderr: with `--quiet` nothing; on a terminal a bar (cli-progress) with
 * elapsed time and ETA; elsewhere a line when the loop starts, one every few seconds (step, total, elapsed, ETA) and
 * one when it ends, or with `--progress` one per step. Never on stdout, so `--json` output stays clean.
 */
export function progressBar(
  total: number,
  label: string,
  flags: ProgressFlags,
  output: ProgressOutput = { stream: process.stderr },
): Progress {
  const { stream, intervalMs = 5000, now = Date.now } = output;
  if (flags.quiet) return { update() {}, stop() {} };
  if (stream.isTTY && !flags.progress) {
    const bar = new SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} · {duration_formatted} elapsed, ETA {eta_formatted} {info}`,
        stream,
        hideCursor: true,
        clearOnComplete: true,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { info: '' });
    return { update: (value, info = '') => bar.update(value, { info }), stop: () => bar.stop() };
  }
  const started = now();
  let value = 0;
  let info = '';
  const line = () => {
    const elapsed = now() - started;
    const eta =
      value > 0 && value < total ? `, ETA ${formatDuration((elapsed / value) * (total - value))}` : '';
    const pct = total > 0 ? ` (${Math.floor((100 * value) / total)}%)` : '';
    stream.write(
      `${label}: step ${value}/${total}${pct}, ${formatDuration(elapsed)} elapsed${eta}${info ? ` · ${info}` : ''}\n`,
    );
  };
  stream.write(`${label}: ${total} steps\n`);
  const timer = flags.progress ? undefined : setInterval(line, intervalMs);
  timer?.unref();
  let stopped = false;
  return {
    update(v, i = '') {
      value = v;
      info = i;
      if (flags.progress) line();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write(`${label}: ended at step ${value}/${total} after ${formatDuration(now() - started)}\n`);
    },
  };
}
