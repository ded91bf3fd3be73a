import { progressBar, type Progress } from './progress.js';

/**
 * Progress of the downloads of a model and its side files, one after another, each through `progressBar` in bytes
 * (off a terminal, lines only for a download that lasts, every 2 s: downloads are short, and their rate is what a user
 * watches); nothing when `quiet`.
 * `stop()` ends the last one, done or not.
 */
export function downloadProgress(quiet = false): {
  update(file: string, received: number, total: number | undefined): void;
  stop(): void;
} {
  let current: { file: string; bar: Progress } | undefined;
  const stop = () => {
    current?.bar.stop();
    current = undefined;
  };
  return {
    update(file, received, total) {
      if (current?.file !== file) {
        stop();
        current = {
          file,
          bar: progressBar(
            total,
            `downloading ${file}`,
            { quiet },
            { unit: 'bytes', intervalMs: 2000, onlyIfLong: true },
          ),
        };
      }
      current.bar.update(received);
    },
    stop,
  };
}
