import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { mimeType, resolveUnder, startServer } from '../src/cli/serve.js';
import { loadClassifier } from '../src/model/load.js';
import { IMAGES, ROOT, runCli, SHARED } from './support/shared.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw HTTP request: the path goes out exactly as given (no URL normalisation, unlike fetch). */
function get(base: string, path: string, opts: { method?: string; host?: string } = {}): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: opts.method ?? 'GET',
        headers: opts.host ? { host: opts.host } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Starts `netvis serve` on a free port; resolves with the process and the URL it printed. */
function serve(args: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'netvis.js'), 'serve', '--port', '0', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/\S+\/)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`netvis serve exited with ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.removeAllListeners('exit');
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

let server: { child: ChildProcess; url: string };

before(async () => {
  server = await serve();
});

after(async () => {
  if (server) await stop(server.child);
});

test('serve listens on 127.0.0.1 only by default and sends cross-origin isolation headers', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await get(server.url, '/');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.body.toString(), /<title>netvis/);
  for (const path of ['/', '/model/config.json', '/samples/index.json', '/no-such-file']) {
    const r = await get(server.url, path);
    assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin', path);
    assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp', path);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
  }
});

test('serve gives the app, onnxruntime-web, the model and the samples with the right types', async () => {
  const ort = readdirSync(join(ROOT, 'web', 'dist', 'ort'));
  const wasm = ort.find((f) => f.endsWith('.wasm'))!;
  const mjs = ort.find((f) => f.endsWith('.mjs'))!;
  assert.ok(wasm && mjs, 'the build copies onnxruntime-web into web/dist/ort');
  const w = await get(server.url, `/ort/${wasm}`, { method: 'HEAD' });
  assert.equal(w.status, 200);
  assert.equal(w.headers['content-type'], 'application/wasm');
  assert.equal(Number(w.headers['content-length']), statSync(join(ROOT, 'web', 'dist', 'ort', wasm)).size);
  assert.match(String((await get(server.url, `/ort/${mjs}`)).headers['content-type']), /^text\/javascript/);

  const config = JSON.parse((await get(server.url, '/model/config.json')).body.toString());
  assert.equal(config.name, 'squeezenet1_1');
  assert.equal(config.preprocessing.crop, 224);
  const model = await get(server.url, config.model);
  assert.equal(model.status, 200);
  assert.ok(model.body.equals(readFileSync(join(ROOT, 'models', 'squeezenet1_1.onnx'))));
  const labels = JSON.parse((await get(server.url, config.labels)).body.toString());
  assert.equal(labels.length, 1000);
  assert.equal(labels[6].names[0], 'stingray');

  const samples = JSON.parse((await get(server.url, '/samples/index.json')).body.toString()) as string[];
  assert.deepEqual(
    samples,
    readdirSync(join(ROOT, 'samples'))
      .filter((f) => /\.jpe?g$/i.test(f))
      .sort(),
  );
  const jpeg = await get(server.url, `/samples/${encodeURIComponent(samples[1])}`);
  assert.equal(jpeg.status, 200);
  assert.equal(jpeg.headers['content-type'], 'image/jpeg');
  assert.ok(jpeg.body.equals(readFileSync(join(IMAGES, samples[1]))));

  const etag = String(jpeg.headers.etag);
  const again = await new Promise<number>((resolve, reject) => {
    const url = new URL(server.url);
    request(
      {
        host: url.hostname,
        port: url.port,
        path: `/samples/${samples[1]}`,
        headers: { 'if-none-match': etag },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode!);
      },
    )
      .on('error', reject)
      .end();
  });
  assert.equal(again, 304);
  assert.equal(mimeType('x.MJS'), 'text/javascript; charset=utf-8');
});

test('path traversal, encoded or not, gets 403 or 404 and never a file outside the served folders', async () => {
  const secrets = [
    readFileSync(join(ROOT, 'package.json'), 'utf8').slice(0, 40),
    readFileSync(join(SHARED, 'models', 'SHA256SUMS'), 'utf8').slice(0, 40),
    readFileSync(join(ROOT, 'src', 'cli', 'serve.ts'), 'utf8').slice(0, 40),
    'root:x:0:0',
  ];
  const attempts = [
    '/../package.json',
    '/../../main/package.json',
    '/../../shared/models/SHA256SUMS',
    '/%2e%2e/package.json',
    '/%2E%2E/%2E%2E/package.json',
    '/.%2e/.%2e/package.json',
    '/..%2fpackage.json',
    '/..%2F..%2Fpackage.json',
    '/%2e%2e%2f%2e%2e%2fpackage.json',
    '/%252e%252e/%252e%252e/package.json',
    '/..%5c..%5cpackage.json',
    '/..\\..\\package.json',
    '/%c0%ae%c0%ae/package.json',
    '/%00/../package.json',
    '/index.html%00.png',
    '/assets/../../../package.json',
    '/assets/..%2f..%2f..%2fsrc%2fcli%2fserve.ts',
    '/ort/../../../../../../../../etc/passwd',
    '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '//etc/passwd',
    '/etc/passwd',
    '/samples/../../models/SHA256SUMS',
    '/samples/..%2f..%2fmodels%2fSHA256SUMS',
    '/samples/%2e%2e/models/SHA256SUMS',
    '/samples/%2e%2e%2fmodels%2fSHA256SUMS',
    '/samples/..%5cmodels%5cSHA256SUMS',
    '/samples//../models/SHA256SUMS',
    '/model/../package.json',
    '/model/%2e%2e/%2e%2e/package.json',
    '/model/squeezenet1_1.pth',
    '/model/SHA256SUMS',
    '/src/cli/serve.ts',
    '/.git/config',
    '/%2egit/config',
    'http://127.0.0.1/../package.json',
  ];
  for (const path of attempts) {
    const r = await get(server.url, path);
    assert.ok(r.status === 403 || r.status === 404, `${path}: status ${r.status}`);
    const text = r.body.toString('latin1');
    for (const s of secrets) assert.ok(!text.includes(s), `${path}: leaked file contents`);
    assert.ok(r.body.length < 100, `${path}: ${r.body.length} bytes of body`);
  }
});

test('serve answers only GET and HEAD, and refuses other host names while bound to localhost', async () => {
  const post = await get(server.url, '/', { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  assert.equal((await get(server.url, '/', { host: 'attacker.example:8080' })).status, 403);
  assert.equal((await get(server.url, '/', { host: 'localhost:8080' })).status, 200);
});

test('resolveUnder keeps every decoded path inside its root, and symbolic links out are not followed', async () => {
  const root = mkdtempSync(join(tmpdir(), 'netvis-serve-'));
  assert.equal(resolveUnder(root, '/a/b.txt'), join(root, 'a', 'b.txt'));
  for (const bad of ['/../x', '/a/%2e%2e/%2e%2e/x', '/a\\..\\..\\x', '/%00', '/.hidden', '/%E0%A4%A']) {
    assert.equal(resolveUnder(root, bad), 'forbidden', bad);
  }
  // A served folder holding a link to a file outside it.
  const app = join(root, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'index.html'), '<title>t</title>');
  writeFileSync(join(root, 'secret.txt'), 'top secret');
  symlinkSync(join(root, 'secret.txt'), join(app, 'link.txt'));
  const classifier = await loadClassifier();
  const running = await startServer({ appDir: app, classifier, port: 0 });
  try {
    const r = await get(running.url, '/link.txt');
    assert.equal(r.status, 404);
    assert.ok(!r.body.toString().includes('top secret'));
    assert.equal((await get(running.url, '/samples/index.json')).body.toString(), '[]');
    assert.equal((await get(running.url, '/samples/x.jpg')).status, 404);
  } finally {
    await running.close();
  }
});

test('serve flags are checked, a busy port is a clear error, and Ctrl-C stops it cleanly', async () => {
  const badPort = await runCli(['serve', '--port', 'eighty']);
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /--port must be 0 to 65535, got 'eighty'/);
  const port = new URL(server.url).port;
  const busy = await runCli(['serve', '--port', port]);
  assert.equal(busy.code, 2);
  assert.match(busy.stderr, new RegExp(`port ${port} is in use; pick another with --port`));
  assert.doesNotMatch(busy.stderr, /\n\s+at /);
  const other = await serve();
  assert.equal(await stop(other.child), 0);
});
