// The files a command writes: checked before any work, written as a set after it.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { OutputError, UsageError } from './errors.js';

/** What an output file holds; its name must end in one of the format's extensions. */
export type OutputFormat = 'png' | 'gif' | 'html' | 'json' | 'npy' | 'csv' | 'parquet';

const EXTENSIONS: Record<OutputFormat, string[]> = {
  png: ['.png'],
  gif: ['.gif'],
  html: ['.html', '.htm'],
  json: ['.json'],
  npy: ['.npy'],
  csv: ['.csv'],
  parquet: ['.parquet'],
};

/** One file a command will write: its path, its format, and the flag that named it (for messages). */
export interface PlannedOutput {
  flag: string;
  path: string;
  format: OutputFormat;
}

/** A folder the outputs go in, made at write time if it does not exist (its parent must). */
export interface OutputFolder {
  flag: string;
  path: string;
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'files cannot be created there',
  ENOTDIR: 'not a folder',
  EISDIR: 'is a folder',
};

/** A file-system error as a few words ("permission denied"), without the temporary file's name. */
function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return REASONS[code] ?? (code || (err as Error).message);
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    // Missing, or under something that is not a folder: either way nothing is there yet.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new UsageError(`${path}: cannot be checked (${reason(err)})`);
  }
}

/** Throws a UsageError unless `folder` exists, is a folder, and a file can be created in it (tried, then removed). */
async function checkWritableFolder(folder: string, what: string): Promise<void> {
  const s = await statOrUndefined(folder);
  if (!s) throw new UsageError(`${what}: folder ${folder} does not exist`);
  if (!s.isDirectory()) throw new UsageError(`${what}: ${folder} is not a folder`);
  // access(W_OK) says yes to root everywhere, even in /proc; creating a file is the real test.
  const probe = join(folder, `.netvis-${process.pid}-${randomBytes(4).toString('hex')}.probe`);
  try {
    await (await open(probe, 'wx')).close();
  } catch (err) {
    throw new UsageError(`${what}: cannot write in ${folder} (${reason(err)})`);
  }
  await unlink(probe);
}

/** Throws a UsageError if `full` is a folder (suggesting the file name `instead`) or exists and is not a regular file. */
async function checkFileTarget(what: string, full: string, instead: string): Promise<void> {
  const s = await statOrUndefined(full);
  if (s?.isDirectory()) throw new UsageError(`${what}: is a folder; give a file name such as ${instead}`);
  if (s && !s.isFile()) throw new UsageError(`${what}: exists and is not a regular file`);
}

/**
 * Checks, before any work, a file a command updates in place as it goes rather than writing at the end (a results
 * database): it is not a folder (`name` is the file name suggested in it) or other non-file, and its folder exists and
 * takes new files. Throws a UsageError naming the flag.
 */
export async function checkUpdatedFile(flag: string, path: string, name: string): Promise<void> {
  const what = `${flag} ${path}`;
  const full = resolve(path);
  await checkFileTarget(what, full, join(path, name));
  await checkWritableFolder(dirname(full), what);
}

// The command line being run (set by main): an output named on it a second time is also one of the command's inputs.
let commandLine: readonly string[] = [];

/** Records the command line `main` runs, so that outputs can be checked against the inputs it names. */
export function setCommandLine(argv: readonly string[]): void {
  commandLine = argv;
}

/** The outputs of one command, checked; `write` puts all of them in place, or none. */
export class OutputSet {
  private constructor(
    private readonly files: PlannedOutput[],
    private readonly folderToMake: string | undefined,
  ) {}

  /**
   * Checks a command's outputs before it does any work: each name ends in its format's extension, no two are the same
   * file, none is also named as an input on the command line, none is a folder or other non-file, and each folder exists and takes new files (`folder`, if given, may be
   * missing when its parent exists: it is made at write time). Nothing is created. Throws a UsageError naming the flag.
   */
  static async plan(files: PlannedOutput[], folder?: OutputFolder): Promise<OutputSet> {
    let folderToMake: string | undefined;
    const checked = new Set<string>();
    if (folder) {
      const what = `${folder.flag} ${folder.path}`;
      const full = resolve(folder.path);
      const s = await statOrUndefined(full);
      if (s && !s.isDirectory())
        throw new UsageError(`${what}: is a file; expected a folder (it is made if missing)`);
      await checkWritableFolder(s ? full : dirname(full), what);
      if (!s) folderToMake = full;
      checked.add(full);
    }
    const seen = new Map<string, string>();
    for (const f of files) {
      const what = `${f.flag} ${f.path}`;
      const full = resolve(f.path);
      await checkFileTarget(what, full, join(f.path, `out${EXTENSIONS[f.format][0]}`));
      if (!EXTENSIONS[f.format].includes(extname(full).toLowerCase()))
        throw new UsageError(
          `${what}: netvis writes ${f.format.toUpperCase()} here; give a name ending in ${EXTENSIONS[f.format][0]}`,
        );
      const other = seen.get(full);
      if (other) throw new UsageError(`${what}: the same file as ${other}; give different names`);
      const named = commandLine.filter((arg) => resolve(arg) === full).length;
      const asOutputs = files.filter((o) => resolve(o.path) === full).length;
      if (named > asOutputs)
        throw new UsageError(`${what}: is also an input of this command; give another name`);
      seen.set(full, what);
      const parent = dirname(full);
      if (!checked.has(parent)) {
        await checkWritableFolder(parent, what);
        checked.add(parent);
      }
    }
    return new OutputSet(files, folderToMake);
  }

  /**
   * Writes every planned file, keyed by its path as planned: all to temporary files beside their targets first, then
   * renamed into place in the planned order, so a reader never sees a half-written file. If anything fails, none of
   * the files (nor a folder made for them) remain; throws an OutputError naming the file.
   */
  async write(contents: Record<string, Uint8Array | string>): Promise<void> {
    const keys = Object.keys(contents).sort();
    const planned = this.files.map((f) => f.path).sort();
    if (keys.join('\0') !== planned.join('\0'))
      throw new Error(`OutputSet.write: got [${keys}], planned [${planned}]`);
    let madeFolder = false;
    const written: string[] = [];
    let current = this.files[0];
    try {
      if (this.folderToMake) {
        try {
          await mkdir(this.folderToMake);
          madeFolder = true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      const temps = this.files.map((f) => {
        const full = resolve(f.path);
        return join(dirname(full), `.${basename(full)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      });
      for (const [i, f] of this.files.entries()) {
        current = f;
        written.push(temps[i]);
        await writeFile(temps[i], contents[f.path], { flag: 'wx' });
      }
      for (const [i, f] of this.files.entries()) {
        current = f;
        await rename(temps[i], f.path);
        written.push(resolve(f.path));
      }
    } catch (err) {
      await Promise.all(written.map((p) => rm(p, { force: true })));
      if (madeFolder) await rmdir(this.folderToMake!).catch(() => undefined);
      throw new OutputError(
        `${current.flag} ${current.path}: cannot be written (${reason(err)}); nothing was written`,
        {
          cause: err,
        },
      );
    }
  }
}

/** Checks a command's outputs before any work (see OutputSet.plan); write them with the result's `write`. */
export function planOutputs(files: PlannedOutput[], folder?: OutputFolder): Promise<OutputSet> {
  return OutputSet.plan(files, folder);
}
