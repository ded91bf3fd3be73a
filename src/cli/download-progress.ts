import { Presets, SingleBar } from 'cli-progress';

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

// Off a terminal, a line this often (and one when a file is done).
const LINE_EVERY_MS = 2000;

/**
 * Download progress on stderr: a bar per file on a terminal, else a line every 2 s and one per finished file;
 * nothing with `quiet` (e.g. --json). `done()` marks the last file finished; `stop()` ends without saying so (on
 * failure).
 */
export function downloadProgress(quiet = false): {
  update(file: string, received: number, total: number | undefined): void;
  done(): void;
  stop(): void;
} {
  if (quiet) return { update() {}, done() {}, stop() {} };
  let current: { file: string; received: number; total?: number } | undefined;
  let bar: SingleBar | undefined;
  let lastLine = 0;
  const finish = (complete: boolean) => {
    if (!current) return;
    if (bar) bar.stop();
    else if (complete) process.stderr.write(`fetched ${current.file}: ${mb(current.received)}\n`);
    bar = undefined;
    current = undefined;
  };
  return {
    update(file, received, total) {
      if (current && current.file !== file) finish(true);
      if (!current) {
        current = { file, received, total };
        lastLine = Date.now();
        if (process.stderr.isTTY && total) {
          bar = new SingleBar(
            {
              format: `${file} [{bar}] {percentage}% {got} of {size}`,
              stream: process.stderr,
              hideCursor: true,
            },
            Presets.shades_classic,
          );
          bar.start(total, 0, { got: mb(0), size: mb(total) });
        }
      }
      current.received = received;
      if (bar) bar.update(received, { got: mb(received), size: mb(total ?? received) });
      else if (Date.now() - lastLine >= LINE_EVERY_MS) {
        lastLine = Date.now();
        process.stderr.write(
          `downloading ${file}: ${mb(received)}${total ? ` of ${mb(total)} (${Math.floor((100 * received) / total)}%)` : ''}\n`,
        );
      }
    },
    done: () => finish(true),
    stop: () => finish(false),
  };
}
