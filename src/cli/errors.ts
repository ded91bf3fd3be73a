import { ImageError } from '../image/decode.js';
import { ClassLookupError } from '../model/labels.js';
import { DownloadError } from '../model/download.js';
import { ModelNotFoundError } from '../model/find.js';
import { OptionError } from '../methods/common.js';
import { ModelError } from '../onnx/proto.js';
import { DatabaseError, DatasetError, QueueError, TaskError } from '../runner/errors.js';
import { NpyError } from '../util/npy.js';

/** A mistake in how the command was called: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An output file that could not be written (disk full, folder removed meanwhile, ...): exit code 1. */
export class OutputError extends Error {
  override name = 'OutputError';
}

const EXPECTED = [
  UsageError,
  OptionError,
  OutputError,
  ImageError,
  ClassLookupError,
  ModelNotFoundError,
  ModelError,
  DownloadError,
  DatasetError,
  DatabaseError,
  QueueError,
  TaskError,
  NpyError,
];

/** An interrupt after which the command kept what it had finished; the message says what and where. */
export class InterruptedError extends Error {
  override name = 'AbortError';
}

/** Whether an error is one netvis expects (bad input) rather than a bug. */
export function isExpected(err: unknown): boolean {
  return EXPECTED.some((cls) => err instanceof cls);
}

/** Whether an error is a mistake in how the command was called (exit code 2): a usage error, or a method option out of
 * the bounds that only the method knows. */
export function isUsage(err: unknown): boolean {
  return err instanceof UsageError || err instanceof OptionError;
}

/** Whether an error is an abort (Ctrl-C or an AbortSignal). */
export function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}
