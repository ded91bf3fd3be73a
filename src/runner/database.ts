import { DuckDBInstance, blobValue, type DuckDBConnection } from '@duckdb/node-api';
import { mkdir } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { DatabaseError } from './errors.js';
import { canonicalOptions, type Spec } from './spec.js';
import type { Task, TaskResult, StoredMap } from './task.js';

/** One stored result: one (image, method, metric) under one model. */
export interface ResultRow {
  image: string;
  imageHash: string;
  label: number;
  method: string;
  metric: string;
  value: number;
  /** The image's share of the metric's time in its task, in seconds. */
  seconds: number;
}

/** What one benchmark run asks for: the rows of the results table it reads back (export, leaderboard). */
export interface RunSelection {
  modelHash: string;
  /** Content hash → name shown, in dataset order. */
  images: Map<string, string>;
  methods: Spec[];
  metrics: Spec[];
}

// One row per (image content, model, method + options, metric + options): the primary key makes writes upserts.
const SCHEMA = `
create table if not exists results (
  image_hash varchar not null, model_hash varchar not null,
  method varchar not null, method_options varchar not null,
  metric varchar not null, metric_options varchar not null,
  image varchar not null, model varchar not null, label integer not null,
  value double, seconds double not null, finished timestamp not null,
  primary key (image_hash, model_hash, method, method_options, metric, metric_options));
create table if not exists maps (
  image_hash varchar not null, model_hash varchar not null,
  method varchar not null, method_options varchar not null,
  height integer not null, width integer not null, data blob not null,
  primary key (image_hash, model_hash, method, method_options));`;

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** The key of one result within a model, as `doneKeys` returns them. */
export function resultKey(imageHash: string, method: Spec, metric: Spec): string {
  return [
    imageHash,
    method.name,
    canonicalOptions(method.options),
    metric.name,
    canonicalOptions(metric.options),
  ].join('\u0000');
}

/**
 * The benchmark's results in an embedded DuckDB file: each finished task is one transaction, so a crash, a kill or
 * Ctrl-C loses only the tasks in flight, and rows are upserted on their key, so a rerun or a retried job never counts
 * a result twice. One process writes at a time (DuckDB locks the file). DuckDB rather than SQLite: its binaries come
 * from the npm registry (better-sqlite3 downloads or compiles its own at install), it writes Parquet itself, and the
 * leaderboard's and users' questions (means by method and metric) are what it is built for.
 */
export class ResultsDatabase {
  private writing = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly db: DuckDBConnection,
    readonly path: string,
  ) {}

  /** Opens (creating if needed) the database at `path`; throws DatabaseError if another process holds it. */
  static async open(path: string): Promise<ResultsDatabase> {
    let instance: DuckDBInstance;
    try {
      await mkdir(dirname(resolve(path)), { recursive: true });
      instance = await DuckDBInstance.create(path, { threads: '1' });
    } catch (err) {
      const message = (err as Error).message;
      const held = /lock/i.test(message);
      throw new DatabaseError(
        held
          ? `${path} is in use by another process (one benchmark writes a database at a time): ${message.split('\n')[0]}`
          : `${path} cannot be opened as a DuckDB database: ${message.split('\n')[0]}`,
      );
    }
    const db = await instance.connect();
    await db.run(SCHEMA);
    return new ResultsDatabase(instance, db, path);
  }

  /** Keys (see `resultKey`) of every result stored for the model. */
  async doneKeys(modelHash: string): Promise<Set<string>> {
    const reader = await this.db.runAndReadAll(
      'select image_hash, method, method_options, metric, metric_options from results where model_hash = $1',
      [modelHash],
    );
    return new Set(reader.getRows().map((r) => (r as string[]).join('\u0000')));
  }

  /** Stores a finished task's values and maps in one transaction (upserts). */
  async record(
    task: Pick<Task, 'model' | 'method' | 'metrics'> & { images: { hash: string; name: string }[] },
    result: TaskResult,
  ): Promise<void> {
    // Tasks finish concurrently; their transactions go one after another on the one connection.
    const write = this.writing.then(() => this.write(task, result));
    this.writing = write.catch(() => {});
    return write;
  }

  private async write(task: Parameters<ResultsDatabase['record']>[0], result: TaskResult): Promise<void> {
    const mOpts = canonicalOptions(task.method.options);
    await this.db.run('begin transaction');
    try {
      for (const [i, image] of task.images.entries()) {
        for (const [m, metric] of task.metrics.entries())
          await this.db.run(
            `insert into results values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, current_timestamp)
             on conflict do update set image = excluded.image, model = excluded.model, label = excluded.label,
               value = excluded.value, seconds = excluded.seconds, finished = excluded.finished`,
            [
              image.hash,
              task.model.hash,
              task.method.name,
              mOpts,
              metric.name,
              canonicalOptions(metric.options),
              image.name,
              task.model.ref,
              result.labels[i],
              result.values[m][i],
              result.seconds.metrics[m] / task.images.length,
            ],
          );
        const map = result.maps[i];
        await this.db.run(
          `insert into maps values ($1, $2, $3, $4, $5, $6, $7)
           on conflict do update set height = excluded.height, width = excluded.width, data = excluded.data`,
          [
            image.hash,
            task.model.hash,
            task.method.name,
            mOpts,
            map.height,
            map.width,
            blobValue(new Uint8Array(map.data.buffer, map.data.byteOffset, map.data.byteLength)),
          ],
        );
      }
      await this.db.run('commit');
    } catch (err) {
      await this.db.run('rollback');
      throw err;
    }
  }

  // A temporary view of the run's rows: its images (by content) × methods × metrics under its model.
  private async selectRun(run: RunSelection): Promise<void> {
    const images = [...run.images].map(([hash, name], i) => `(${quote(hash)}, ${quote(name)}, ${i})`);
    const specs = (kind: string, list: Spec[]) =>
      list.map(
        (s) => `(${quote(kind)}, ${quote(s.name)}, ${quote(canonicalOptions(s.options))}, ${quote(s.label)})`,
      );
    await this.db.run(`
      create or replace temp table run_images as select * from (values ${images.join(',')}) t(image_hash, image, position);
      create or replace temp table run_specs as select * from (values ${[...specs('method', run.methods), ...specs('metric', run.metrics)].join(',')}) t(kind, name, options, label);
      create or replace temp view run_results as
        select i.image, r.image_hash, r.label, r.model, r.model_hash, ms.label as method, r.method as method_name,
               r.method_options, xs.label as metric, r.metric as metric_name, r.metric_options, r.value, r.seconds, r.finished
        from results r
        join run_images i on r.image_hash = i.image_hash
        join run_specs ms on ms.kind = 'method' and ms.name = r.method and ms.options = r.method_options
        join run_specs xs on xs.kind = 'metric' and xs.name = r.metric and xs.options = r.metric_options
        where r.model_hash = ${quote(run.modelHash)}
        order by i.position, method, metric;`);
  }

  /** The run's results, one row per (image, method, metric), in dataset order. */
  async runRows(run: RunSelection): Promise<ResultRow[]> {
    await this.selectRun(run);
    const reader = await this.db.runAndReadAll(
      'select image, image_hash, label, method, metric, value, seconds from run_results',
    );
    return reader.getRowObjectsJS().map((r) => ({
      image: r.image as string,
      imageHash: r.image_hash as string,
      label: Number(r.label),
      method: r.method as string,
      metric: r.metric as string,
      value: r.value as number,
      seconds: r.seconds as number,
    }));
  }

  /** The stored map of each (image, method) of the run, keyed `imageHash + '\0' + method label`. */
  async runMaps(run: RunSelection): Promise<Map<string, StoredMap>> {
    await this.selectRun(run);
    const reader = await this.db.runAndReadAll(`
      select m.image_hash, s.label, m.height, m.width, m.data from maps m
      join run_images i on m.image_hash = i.image_hash
      join run_specs s on s.kind = 'method' and s.name = m.method and s.options = m.method_options
      where m.model_hash = ${quote(run.modelHash)}`);
    const out = new Map<string, StoredMap>();
    for (const r of reader.getRowObjectsJS()) {
      const bytes = r.data as Uint8Array;
      // A copy: DuckDB hands blobs back as Buffers that may sit at an offset in a shared pool.
      const data = new Float32Array(new Uint8Array(bytes).buffer);
      out.set(`${r.image_hash as string}\u0000${r.label as string}`, {
        height: Number(r.height),
        width: Number(r.width),
        data,
      });
    }
    return out;
  }

  /** Writes the run's rows to `path` as CSV or Parquet (by its extension) with DuckDB's COPY; throws DatabaseError for another extension. */
  async export(run: RunSelection, path: string): Promise<number> {
    const format = { '.csv': 'csv, header true', '.parquet': 'parquet' }[extname(path).toLowerCase()];
    if (!format) throw new DatabaseError(`--export ${path}: expected a .csv or .parquet file`);
    await this.selectRun(run);
    const reader = await this.db.runAndReadAll(
      `copy (select image, image_hash, label, model, model_hash, method, metric, value, seconds, finished from run_results)
       to ${quote(path)} (format ${format})`,
    );
    return Number(reader.getRows()[0]?.[0] ?? 0);
  }

  /** Closes the database (all it wrote is already committed). */
  close(): void {
    this.db.closeSync();
    this.instance.closeSync();
  }
}
