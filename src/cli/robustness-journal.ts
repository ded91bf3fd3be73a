// A robustness run over many images keeps a journal: one JSON line per chunk of images finished, after a first line
// with the run's settings. A rerun with the same journal skips the images already in it, so an interrupted run
// loses at most the chunk in flight; a half-written last line (a crash mid-write) is ignored.
import { createHash } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import type { AttackCount } from '../methods/adversarial/robustness.js';
import type { RoundedCheck } from './adversarial-files.js';
import { UsageError } from './errors.js';

/** What a run found for one image. */
export interface ImageRecord {
  image: string;
  /** SHA-256 of the file's bytes: a changed file is attacked again. */
  sha256: string;
  label: number;
  clean: boolean;
  brokenAt: number | null;
  brokenBy: string | null;
  /** For a broken image, its adversarial example rounded to 8 bits within ε: still adversarial, and its size (0-255 units). */
  rounded?: RoundedCheck;
}

/** One journal line: a chunk's images and how many each attack broke at each budget. */
export interface ChunkRecord {
  images: ImageRecord[];
  counts: AttackCount[];
}

/** SHA-256 of a file's bytes, hex. */
export async function fileHash(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/**
 * The chunks a journal already holds, or none when it does not exist yet (it is then started with `settings`).
 * Throws a UsageError when it was written with other settings or is not a netvis robustness journal.
 */
export async function openJournal(path: string, settings: Record<string, unknown>): Promise<ChunkRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT')
      throw new UsageError(
        `--state ${path}: ${code === 'EISDIR' ? 'is a folder' : `cannot be read (${(err as Error).message})`}; give a journal file's name`,
      );
    try {
      await appendFile(path, `${JSON.stringify({ netvis: 'robustness', settings })}\n`);
    } catch (e) {
      throw new UsageError(`--state ${path}: cannot be written (${(e as Error).message})`);
    }
    return [];
  }
  const [first, ...rest] = text.split('\n');
  let header: { netvis?: string; settings?: Record<string, unknown> };
  try {
    header = JSON.parse(first) as typeof header;
  } catch {
    header = {};
  }
  if (header.netvis !== 'robustness' || !header.settings)
    throw new UsageError(`--state ${path}: not a netvis robustness journal; give a new file name`);
  const differ = Object.keys({ ...settings, ...header.settings }).filter(
    (k) => JSON.stringify(settings[k]) !== JSON.stringify(header.settings![k]),
  );
  if (differ.length > 0)
    throw new UsageError(
      `--state ${path}: written by a run with other settings (${differ
        .map((k) => `${k} ${JSON.stringify(header.settings![k])}, now ${JSON.stringify(settings[k])}`)
        .join('; ')}); give another file or delete it`,
    );
  // A line cut short by a crash is ended, so the next chunk starts on a line of its own.
  if (!text.endsWith('\n')) await appendFile(path, '\n');
  const chunks: ChunkRecord[] = [];
  for (const line of rest) {
    if (!line.trim()) continue;
    try {
      chunks.push(JSON.parse(line) as ChunkRecord);
    } catch {
      // a line cut short by a crash: its images are attacked again
    }
  }
  return chunks;
}

/** Appends a finished chunk to the journal. */
export async function appendChunk(path: string, chunk: ChunkRecord): Promise<void> {
  await appendFile(path, `${JSON.stringify(chunk)}\n`);
}
