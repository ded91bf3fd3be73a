import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';

/** A model file could not be fetched or copied: HTTP error, cut connection, missing file, wrong checksum. */
export class DownloadError extends Error {
  override name = 'DownloadError';
}

/** Called as bytes arrive: bytes so far and the total when the server (or file system) says it. */
export type DownloadProgress = (received: number, total: number | undefined) => void;

/** Whether a reference is an http(s) URL rather than a path. */
export function isUrl(ref: string): boolean {
  return /^https?:\/\//i.test(ref);
}

/** What was written: its size and SHA-256 (hex). */
export interface Fetched {
  bytes: number;
  sha256: string;
}

/** The bytes of a URL's body or a local file, announcing the total length (when known) before the first chunk. */
async function* chunksOf(
  ref: string,
  signal: AbortSignal | undefined,
  onLength: (n: number | undefined) => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (!isUrl(ref)) {
    const path = resolve(ref);
    onLength((await stat(path)).size);
    for await (const chunk of createReadStream(path, { signal })) yield chunk as Uint8Array;
    return;
  }
  let response: Response;
  try {
    response = await fetch(ref, { signal, redirect: 'follow' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new DownloadError(
      `${ref} cannot be fetched: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
    );
  }
  if (!response.ok || !response.body)
    throw new DownloadError(
      `${ref}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
    );
  // fetch decodes a compressed body, whose Content-Length then counts other bytes.
  const length = response.headers.get('content-length');
  const plain = (response.headers.get('content-encoding') ?? 'identity') === 'identity';
  onLength(plain && length !== null && /^\d+$/.test(length) ? Number(length) : undefined);
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

/**
 * Copies a URL's body (http or https) or a local file to `dest`, hashing it as it goes. Reports progress through
 * `onProgress`, honours `signal`, and checks the length the server announced and, when given, `sha256`. Throws a
 * DownloadError for an HTTP error status, a connection cut before the announced length, an unreadable file or a
 * checksum mismatch; the caller removes `dest` then (it writes into a staging folder).
 */
export async function fetchTo(
  ref: string,
  dest: string,
  {
    sha256,
    onProgress,
    signal,
  }: { sha256?: string; onProgress?: DownloadProgress; signal?: AbortSignal } = {},
): Promise<Fetched> {
  const hash = createHash('sha256');
  let received = 0;
  let total: number | undefined;
  const file = await open(dest, 'wx');
  try {
    for await (const chunk of chunksOf(ref, signal, (n) => (total = n))) {
      hash.update(chunk);
      await file.write(chunk);
      received += chunk.length;
      onProgress?.(received, total);
    }
  } catch (err) {
    if ((err as Error).name === 'AbortError' || err instanceof DownloadError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES')
      throw new DownloadError(`${ref} cannot be read (${code})`);
    throw new DownloadError(
      `${ref}: the transfer broke off after ${received} of ${total ?? 'an unknown number of'} bytes (${(err as Error).message})`,
    );
  } finally {
    await file.close();
  }
  if (total !== undefined && received !== total)
    throw new DownloadError(`${ref}: the transfer ended after ${received} of ${total} bytes`);
  const digest = hash.digest('hex');
  if (sha256 && digest !== sha256.toLowerCase())
    throw new DownloadError(`${ref}: SHA-256 is ${digest}, expected ${sha256.toLowerCase()}`);
  return { bytes: received, sha256: digest };
}
