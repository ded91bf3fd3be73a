// The runner's errors of bad input, in a module of their own so the CLI can recognise them without loading
// DuckDB, BullMQ or the worker pool.

/** A dataset folder or manifest that cannot be used; the message names the file (and line) and what was expected. */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

/** The results database cannot be opened or written (in use by another process, not a DuckDB file, …). */
export class DatabaseError extends Error {
  override name = 'DatabaseError';
}

/** Redis cannot be reached or the URL is malformed. */
export class QueueError extends Error {
  override name = 'QueueError';
}

/** A task that cannot run as asked: unknown method or metric, missing masks, a job that failed on a worker. */
export class TaskError extends Error {
  override name = 'TaskError';
}
