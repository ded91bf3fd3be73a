import { createReadStream, existsSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import type { Classifier } from '../model/classifier.js';
import { sampleImageDir } from '../model/find.js';
import { UsageError } from './errors.js';
import { classifierFrom, withQuietOption } from './shared.js';

// src/cli/serve.ts and dist/cli/serve.js both sit two levels below the package root.
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where `npm run build` puts the web app. */
export const WEB_APP_DIR = join(packageRoot, 'web', 'dist');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

const SAMPLE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** What `netvis serve` serves: the built app, one classifier, and a folder of sample images. */
export interface ServeOptions {
  /** The built web app (index.html and its assets). */
  appDir: string;
  classifier: Classifier;
  /** Sample images offered by the app; none when undefined. */
  samplesDir?: string;
  /** Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
}

/** A running server. */
export interface RunningServer {
  server: Server;
  /** The app's URL, e.g. `http://127.0.0.1:8080/`. */
  url: string;
  close(): Promise<void>;
}

/** The MIME type for a file name (by extension, case-insensitive). */
export function mimeType(path: string): string {
  return MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file below `root` that a URL path names, or 'forbidden' when the path tries to leave `root` or name a hidden
 * file. The path is percent-decoded exactly once; `..` and `.` segments, backslashes, NUL bytes and segments starting
 * with a dot are refused, and the joined path must still lie inside `root`.
 */
export function resolveUnder(root: string, urlPath: string): string | 'forbidden' {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return 'forbidden';
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return 'forbidden';
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s.startsWith('.'))) return 'forbidden';
  const base = resolve(root);
  const path = resolve(base, ...segments);
  if (path !== base && !path.startsWith(base + sep)) return 'forbidden';
  return path;
}

function decodeURIComponentSafe(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** `path` if it is a regular file whose real path (symbolic links followed) is inside `root`, else undefined. */
async function fileInside(root: string, path: string): Promise<string | undefined> {
  try {
    const [realRoot, real] = await Promise.all([realpath(root), realpath(path)]);
    if (!real.startsWith(realRoot + sep)) return undefined;
    return (await stat(real)).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a host name or address means this machine only. */
function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

// Every response: cross-origin isolation (COOP + COEP) so the page gets SharedArrayBuffer and WASM threads, and
// same-origin resources only.
function baseHeaders(): Record<string, string> {
  return {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  extra: Record<string, string> = {},
): void {
  const body = Buffer.from(`${text}\n`);
  res.writeHead(status, {
    ...baseHeaders(),
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(body.length),
    'Cache-Control': 'no-store',
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(200, {
    ...baseHeaders(),
    'Content-Type': MIME['.json'],
    'Content-Length': String(body.length),
    'Cache-Control': 'no-cache',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

async function sendFile(req: IncomingMessage, res: ServerResponse, path: string, immutable: boolean) {
  const info = await stat(path);
  const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const headers = {
    ...baseHeaders(),
    'Content-Type': mimeType(path),
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    ETag: etag,
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': String(info.size) });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((done) => {
    const stream = createReadStream(path);
    stream.on('error', () => {
      res.destroy();
      done();
    });
    stream.on('close', done);
    stream.pipe(res);
  });
}

/** The sample image file names in `dir` (JPEG, PNG, WebP; no hidden files), sorted. */
async function sampleNames(dir: string | undefined): Promise<string[]> {
  if (!dir) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter(
      (e) => e.isFile() && !e.name.startsWith('.') && SAMPLE_EXTENSIONS.has(extname(e.name).toLowerCase()),
    )
    .map((e) => e.name)
    .sort();
}

/**
 * Serves the web app from `appDir` at `/`, the classifier at `/model/` (`config.json` describing it, `model.onnx`,
 * its external data files, `labels.json`) and the sample images at `/samples/` (`index.json` listing them). Nothing else on disk is reachable.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { appDir, classifier, samplesDir, host = '127.0.0.1', port = 8080 } = options;
  if (!existsSync(join(appDir, 'index.html'))) {
    throw new UsageError(`the web app is not built (no ${join(appDir, 'index.html')}): run npm run build`);
  }
  const labelsJson = classifier.labels.classes.map((c) =>
    c.wnid ? { wnid: c.wnid, names: c.names } : c.names[0],
  );
  const config = {
    name: basename(classifier.source, '.onnx'),
    model: '/model/model.onnx',
    labels: '/model/labels.json',
    preprocessing: classifier.preprocessing,
    input: classifier.inputName,
    output: classifier.outputName,
    layout: classifier.report?.input.layout,
  };
  // The model's external data files, served beside model.onnx where its locations point.
  const external = new Map(
    (classifier.report?.externalData ?? []).map((location) => [
      `/model/${location}`,
      join(dirname(classifier.source), location),
    ]),
  );
  const loopbackOnly = isLoopback(host);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
      return;
    }
    // Bound to this machine only, refuse pages that reach it through another name (DNS rebinding).
    const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (loopbackOnly && !isLoopback(hostHeader) && isIP(hostHeader.replace(/^\[|\]$/g, '')) === 0) {
      sendText(res, 403, 'forbidden host');
      return;
    }
    const rawPath = (req.url ?? '/').split(/[?#]/, 1)[0];
    // Only origin-form targets ("/path"); absolute-form and "*" name nothing here.
    if (!rawPath.startsWith('/')) return sendText(res, 403, 'forbidden');
    if (rawPath === '/model/config.json') return sendJson(res, config);
    if (rawPath === '/model/labels.json') return sendJson(res, labelsJson);
    if (rawPath === '/model/model.onnx') return sendFile(req, res, classifier.source, false);
    const data = external.get(decodeURIComponentSafe(rawPath));
    if (data) return sendFile(req, res, data, false);
    if (rawPath === '/samples/index.json') return sendJson(res, await sampleNames(samplesDir));
    let root = appDir;
    let rest = rawPath;
    if (rawPath.startsWith('/samples/')) {
      if (!samplesDir) return sendText(res, 404, 'not found');
      root = samplesDir;
      rest = rawPath.slice('/samples'.length);
    } else if (rawPath.startsWith('/model/')) {
      return sendText(res, 404, 'not found');
    }
    const resolved = resolveUnder(root, rest);
    if (resolved === 'forbidden') return sendText(res, 403, 'forbidden');
    const target = resolved === resolve(root) ? join(resolved, 'index.html') : resolved;
    const file = await fileInside(root, target);
    if (!file) return sendText(res, 404, 'not found');
    // Vite names built assets by content hash, so they never change.
    await sendFile(req, res, file, root === appDir && rest.startsWith('/assets/'));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendText(res, 500, 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') fail(new UsageError(`port ${port} is in use; pick another with --port`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND')
        fail(new UsageError(`cannot listen on host '${host}' (${err.code})`));
      else fail(err);
    });
    server.listen(port, host, done);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shownHost}:${address.port}/`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new UsageError(`--port must be 0 to 65535, got '${value}'`);
  return n;
}

interface ServeFlags {
  port: number;
  host: string;
  model?: string;
  labels?: string;
  quiet?: boolean;
}

/** `netvis serve`: the web app, the model and the sample images over HTTP, cross-origin isolated. */
export function serveCommand(): Command {
  return withQuietOption(new Command('serve'))
    .description(
      'serve the web app, the model and the sample images (localhost only unless --host says otherwise)',
    )
    .addOption(
      new Option('-p, --port <n>', 'port to listen on (0: any free port)')
        .default(8080)
        .argParser(portNumber),
    )
    .option('--host <address>', 'address to listen on; 0.0.0.0 serves the whole network', '127.0.0.1')
    .option(
      '-m, --model <name|path|url>',
      'model name (see netvis models list), .onnx file, or https:// URL (cached on first use)',
      'squeezenet1_1',
    )
    .option(
      '--labels <file>',
      'class labels JSON (default: the model sidecar or imagenet_classes.json beside it)',
    )
    .action(async (flags: ServeFlags) => {
      const classifier = await classifierFrom(flags);
      const samplesDir = sampleImageDir();
      const running = await startServer({
        appDir: WEB_APP_DIR,
        classifier,
        samplesDir,
        host: flags.host,
        port: flags.port,
      });
      const stopped = new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void running.close().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      const samples = (await sampleNames(samplesDir)).length;
      process.stdout.write(
        `netvis serve: ${running.url} (model ${classifier.source}, ${samples} sample images; Ctrl-C stops)\n`,
      );
      if (!isLoopback(flags.host)) {
        process.stderr.write(
          `netvis serve: listening on ${flags.host}: anyone who can reach this machine can load the app, the model and the samples\n`,
        );
      }
      await stopped;
      await classifier.dispose();
    });
}
