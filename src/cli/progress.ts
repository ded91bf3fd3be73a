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

/** Where progress goes, how often lines are printed, and what is counted; tests pass their own stream and clock. */
export interface ProgressOptions {
  /** Default: process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Milliseconds between lines when the stream is not a terminal; default 5000. */
  intervalMs?: number;
  now?: () => number;
  /** Steps already done when the loop starts (a resumed run): ETA and rate count only the steps done since; default 0. */
  start?: number;
  /**
   * What is counted, plural ('results', 'bytes'): lines say "40/100 results" ("1.2 MB of 4.0 MB" for bytes) and the
   * rate ("2.10 results/s"); default: "step 40/100", no rate.
   */
  unit?: string;
  /**
   * Off a terminal, no line until the first interval has passed, and no end line after none: for downloads, which
   * are mostly quick (the command's output names what was fetched, or its error what failed); default false.
   */
  onlyIfLong?: boolean;
  /**
   * `total` and the values are estimated work, not a count of anything a user would recognise: lines show only the
   * percentage done ("report: 40%, ..."); default false.
   */
  percent?: boolean;
}

/** Adds -q/--quiet to a command unless it has it: commands that show progress (of a loop or of a download) take it. */
export function withQuietOption(cmd: Command): Command {
  return cmd.options.some((o) => o.long === '--quiet')
    ? cmd
    : cmd.option('-q, --quiet', 'print no progress on stderr');
}

/** Adds --progress and --quiet to a command with long loops. */
export function withProgressOption(cmd: Command): Command {
  return withQuietOption(
    cmd.addOption(
      new Option(
        '--progress',
        'print a progress line at every step (when stderr is not a terminal, a line every 5 s is the default)',
      ).conflicts('quiet'),
    ),
  );
}

/** Milliseconds as "4.2 s", "3 min 05 s" or "1 h 02 min". */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** A byte count as "84.2 kB" (below 100 kB) or "4.9 MB". */
export function formatBytes(bytes: number): string {
  return bytes < 1e5 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Progress of a loop of `total` steps (undefined: not known, as a download without a length) on stderr: with `--quiet`
 * nothing; on a terminal a bar (cli-progress) with elapsed time and ETA; elsewhere a line when the loop starts, one
 * every few seconds (step, total, elapsed, rate with a `unit`, ETA) and one when it ends, or with `--progress` one per
 * step. Never on stdout, so `--json` output stays clean.
 */
export function progressBar(
  total: number | undefined,
  label: string,
  flags: ProgressFlags,
  options: ProgressOptions = {},
): Progress {
  const {
    stream = process.stderr,
    intervalMs = 5000,
    now = Date.now,
    start = 0,
    unit,
    onlyIfLong,
    percent = false,
  } = options;
  if (flags.quiet) return { update() {}, stop() {} };
  const amount = (v: number) => (unit === 'bytes' ? formatBytes(v) : String(v));
  const position = (v: number) => {
    if (percent && total) return `${Math.floor((100 * Math.min(v, total)) / total)}%`;
    if (!unit) return `step ${v}/${total}`;
    if (total === undefined) return unit === 'bytes' ? amount(v) : `${v} ${unit}`;
    return unit === 'bytes' ? `${amount(v)} of ${amount(total)}` : `${v}/${total} ${unit}`;
  };
  const started = now();
  const rate = (v: number) => {
    const perSecond = (v - start) / ((now() - started) / 1000);
    if (!unit || !Number.isFinite(perSecond)) return '';
    return unit === 'bytes' ? `${formatBytes(perSecond)}/s` : `${perSecond.toFixed(2)} ${unit}/s`;
  };
  if (stream.isTTY && !flags.progress && total !== undefined) {
    const bar = new SingleBar(
      {
        format: `${label} [{bar}] {position}{rate} · {duration_formatted} elapsed, ETA {eta_formatted} {info}`,
        stream,
        hideCursor: true,
        clearOnComplete: true,
      },
      Presets.shades_classic,
    );
    const payload = (v: number, info: string) => {
      const r = rate(v);
      return { position: position(v), rate: r && ` · ${r}`, info };
    };
    bar.start(total, start, payload(start, ''));
    return { update: (value, info = '') => bar.update(value, payload(value, info)), stop: () => bar.stop() };
  }
  let value = start;
  let info = '';
  let printed = false;
  const line = () => {
    printed = true;
    const elapsed = now() - started;
    const done = value - start;
    const eta =
      total !== undefined && done > 0 && value < total
        ? `, ETA ${formatDuration((elapsed / done) * (total - value))}`
        : '';
    const pct = total && !percent ? ` (${Math.floor((100 * value) / total)}%)` : '';
    const r = rate(value);
    stream.write(
      `${label}: ${position(value)}${pct}, ${formatDuration(elapsed)} elapsed${r && `, ${r}`}${eta}${info ? ` · ${info}` : ''}\n`,
    );
  };
  const size =
    total === undefined
      ? 'size unknown'
      : percent
        ? 'started'
        : unit === 'bytes'
          ? amount(total)
          : `${total} ${unit ?? (total === 1 ? 'step' : 'steps')}`;
  if (!onlyIfLong) {
    stream.write(`${label}: ${size}${start > 0 ? `, ${amount(start)} done before` : ''}\n`);
    printed = true;
  }
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
      if (printed)
        stream.write(`${label}: ended at ${position(value)} after ${formatDuration(now() - started)}\n`);
    },
  };
}
