// `netvis models` and `--model URL` against an HTTP server on 127.0.0.1 that the test runs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { addModel, removeModel } from '../src/model/cache.js';
import { runCli, SHARED } from './support/shared.js';

const DIR = join(SHARED, 'fixtures', 'import');
const MODEL = readFileSync(join(DIR, 'plain_opset17.onnx'));
const LABELS = JSON.stringify(Array.from({ length: 10 }, (_, i) => `thing ${i}`));
const SIDECAR = JSON.stringify({ labels: 'labels10.json', preprocessing: { resize: 40, crop: 32 } });

let server: Server;
let base = '';
const hits: string[] = [];
const root = mkdtempSync(join(tmpdir(), 'netvis-models-'));
const env = { NETVIS_CACHE: join(root, 'cache'), HOME: join(root, 'home'), NETVIS_MODEL_DIR: '' };
const cached = () => (existsSync(env.NETVIS_CACHE) ? readdirSync(env.NETVIS_CACHE).sort() : []);

before(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    hits.push(url);
    const send = (body: Uint8Array | string, type = 'application/octet-stream') => {
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) });
      res.end(body);
    };
    if (url === '/m/labels10.json') return send(LABELS, 'application/json');
    if (url === '/m/tiny.json') return send(SIDECAR, 'application/json');
    if (url === '/m/tiny.onnx') return send(MODEL);
    if (url === '/slow/tiny.onnx' || url === '/slower/tiny.onnx') {
      // These trickle for 2.4 s (long enough for a progress line off a terminal, every 2 s) or 24 s.
      res.writeHead(200, { 'Content-Length': String(MODEL.length) });
      let at = 0;
      const step = Math.ceil(MODEL.length / (url.startsWith('/slow/') ? 8 : 80));
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write(MODEL.subarray(at, at + step));
        at += step;
        if (at >= MODEL.length) {
          clearInterval(timer);
          res.end();
        }
      }, 300);
      return;
    }
    if (url === '/cut/cut.onnx') {
      // Announces the whole file, sends half, and drops the connection.
      res.writeHead(200, { 'Content-Length': String(MODEL.length) });
      res.write(MODEL.subarray(0, MODEL.length >> 1), () => res.destroy());
      return;
    }
    if (url === '/ext/external_data.onnx') return send(readFileSync(join(DIR, 'external_data.onnx')));
    if (url === '/ext/external_data.onnx.data')
      return send(readFileSync(join(DIR, 'external_data.onnx.data')));
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((done) => server.close(() => done())));

test('models add downloads with progress, fetches the sidecar and labels beside it, and the model is usable by name and URL', async () => {
  const sha256 = createHash('sha256').update(MODEL).digest('hex');
  const run = await runCli(
    ['models', 'add', `${base}/slow/tiny.onnx`, '--sidecar', `${base}/m/tiny.json`, '--sha256', sha256],
    { env },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stderr,
    /^downloading tiny\.onnx: \d+\.\d kB of 2\.1 kB \(\d+%\), \d+\.\d s elapsed, \d+\.\d kB\/s/m,
    'a progress line off a terminal',
  );
  assert.match(run.stderr, /^downloading tiny\.onnx: ended at 2\.1 kB of 2\.1 kB after /m);
  assert.match(run.stdout, /^added tiny: .*tiny\.onnx \(2\.1 kB, 10 classes\)$/m);
  assert.deepEqual(cached(), ['tiny']);
  assert.deepEqual(readdirSync(join(env.NETVIS_CACHE, 'tiny')).sort(), [
    'tiny.json',
    'tiny.labels.json',
    'tiny.onnx',
  ]);
  const sidecar = JSON.parse(readFileSync(join(env.NETVIS_CACHE, 'tiny', 'tiny.json'), 'utf8'));
  assert.equal(sidecar.source, `${base}/slow/tiny.onnx`);
  assert.equal(sidecar.sha256, sha256);
  assert.equal(sidecar.labels, 'tiny.labels.json');
  assert.deepEqual(sidecar.preprocessing, { resize: 40, crop: 32 });

  const list = await runCli(['models', 'list', '--json'], { env });
  assert.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as { name: string; kind: string; classes: number; source: string }[];
  assert.deepEqual(
    rows.map((r) => [r.name, r.kind, r.classes]),
    [
      ['tiny', 'cache', 10],
      ['squeezenet1_1', 'shipped', 1000],
    ],
  );
  assert.equal(rows[0].source, `${base}/slow/tiny.onnx`);

  const image = join(SHARED, 'images', 'n01774750_tarantula.JPEG');
  const byName = await runCli(['classify', image, '--model', 'tiny', '--json'], { env });
  assert.equal(byName.code, 0, byName.stderr);
  const requests = hits.length;
  const byUrl = await runCli(['classify', image, '--model', `${base}/slow/tiny.onnx`, '--json'], { env });
  assert.equal(byUrl.code, 0, byUrl.stderr);
  assert.equal(hits.length, requests, 'a cached URL is not fetched again');
  assert.deepEqual(JSON.parse(byUrl.stdout), JSON.parse(byName.stdout));

  await assert.rejects(
    addModel(`${base}/m/tiny.onnx`, { env }),
    /a model named 'tiny' is already in .*; remove it first \(netvis models remove tiny\)/,
  );
});

test('a wrong --sha256, a 404 and a connection cut half-way are refused and leave nothing in the cache', async () => {
  const before = cached();
  const wrong = await runCli(
    [
      'models',
      'add',
      `${base}/m/tiny.onnx`,
      '--name',
      'checked',
      '--labels',
      `${base}/m/labels10.json`,
      '--sha256',
      '0'.repeat(64),
    ],
    { env },
  );
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.stderr,
    /^netvis: http:\/\/127\.0\.0\.1:\d+\/m\/tiny\.onnx: SHA-256 is [0-9a-f]{64}, expected 0{64}\n$/,
  );
  const missing = await runCli(['models', 'add', `${base}/missing.onnx`], { env });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^netvis: http:\/\/127\.0\.0\.1:\d+\/missing\.onnx: HTTP 404 Not Found\n$/);
  const cut = await runCli(['models', 'add', `${base}/cut/cut.onnx`, '--labels', `${base}/m/labels10.json`], {
    env,
  });
  assert.equal(cut.code, 1);
  assert.match(cut.stderr, /cut\.onnx: the transfer (broke off|ended) after \d+ of 2\d{3} bytes/);
  assert.doesNotMatch(wrong.stderr + missing.stderr + cut.stderr, /looks like a bug/);
  assert.deepEqual(cached(), before, 'no model and no partial download left');

  // Ctrl-C during the download: exit 130, nothing written.
  let sent = false;
  const interrupted = await runCli(['models', 'add', `${base}/slower/tiny.onnx`, '--name', 'stopped'], {
    env,
    onStderr: (text, kill) => {
      if (!sent && /downloading/.test(text)) {
        sent = true;
        kill('SIGINT');
      }
    },
  });
  assert.ok(sent, interrupted.stderr);
  assert.equal(interrupted.code, 130, interrupted.stderr);
  assert.deepEqual(cached(), before);
});

test('--model URL caches the model with its external data on first use; models remove deletes it, not a shipped one', async () => {
  const image = join(SHARED, 'images', 'n01774750_tarantula.JPEG');
  const url = `${base}/ext/external_data.onnx`;
  const wrong = await runCli(['classify', image, '--model', url, '--labels', 'imagenet'], { env });
  assert.equal(wrong.code, 1, 'labels of the wrong length');
  assert.match(
    wrong.stderr,
    /external_data\.onnx: no output has 1000 columns \(the label count\); outputs: 'logits' N×10\n$/,
  );
  assert.ok(
    existsSync(join(env.NETVIS_CACHE, 'external_data', 'external_data.onnx.data')),
    'cached with its data',
  );
  writeFileSync(join(root, 'labels10.json'), LABELS);
  const requests = hits.length;
  const ok = await runCli(['classify', image, '--model', url, '--labels', join(root, 'labels10.json')], {
    env,
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(hits.length, requests);
  const info = await runCli(
    ['models', 'info', 'external_data', '--labels', join(root, 'labels10.json'), '--json'],
    { env },
  );
  assert.equal(info.code, 0, info.stderr);
  const json = JSON.parse(info.stdout);
  assert.deepEqual(json.externalData, ['external_data.onnx.data']);
  assert.equal(json.logits.tensor, 'logits');
  assert.equal(json.gradCamLayer, 'pool');

  const removed = await runCli(['models', 'remove', 'external_data'], { env });
  assert.equal(removed.code, 0, removed.stderr);
  assert.ok(!cached().includes('external_data'));
  await assert.rejects(
    removeModel('squeezenet1_1', env),
    /'squeezenet1_1' ships with netvis and cannot be removed/,
  );
});
