// The model and sample images netvis ships, and classes that share a name.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadImageBatch } from '../src/image/load.js';
import { loadClassifier } from '../src/model/load.js';
import { checkShippedModel, SHIPPED_MODEL_DIR, SHIPPED_SAMPLE_DIR } from '../src/model/shipped.js';
import { ModelError } from '../src/onnx/proto.js';
import { decodeTensor } from '../src/onnx/tensor-proto.js';
import { IMAGES, ROOT, runCli, SHARED } from './support/shared.js';

test('the shipped SqueezeNet is the shared one: the same weights bit for bit, bit-identical logits', async () => {
  const shipped = await loadClassifier();
  const shared = await loadClassifier({ model: join(SHARED, 'models', 'squeezenet1_1.onnx') });
  try {
    assert.equal(shipped.source, join(ROOT, 'models', 'squeezenet1_1.onnx'));
    assert.ok(statSync(shipped.source).size < 2.6e6, 'stored at half size');
    const weights = (c: typeof shipped) =>
      new Map(c.model.graph.initializer.map((t) => [t.name, Buffer.from(decodeTensor(t).data.buffer)]));
    const a = weights(shipped);
    const b = weights(shared);
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [name, bytes] of b) assert.ok(bytes.equals(a.get(name)!), name);
    const files = readdirSync(IMAGES)
      .slice(0, 4)
      .map((f) => join(IMAGES, f));
    const { tensor } = await loadImageBatch(files, shipped.preprocessing);
    const [x, y] = [await shipped.logits(tensor), await shared.logits(tensor)];
    assert.ok(Buffer.from(x.data.buffer).equals(Buffer.from(y.data.buffer)), 'logits bit-identical');
  } finally {
    await shipped.dispose();
    await shared.dispose();
  }
});

test('a damaged shipped model is refused by its SHA-256; the samples are at most 6 images and 600 kB', () => {
  const path = join(SHIPPED_MODEL_DIR, 'squeezenet1_1.onnx');
  const bytes = readFileSync(path);
  checkShippedModel('squeezenet1_1', path, bytes);
  assert.throws(
    () => checkShippedModel('squeezenet1_1', path, bytes.subarray(0, bytes.length - 1)),
    (e: Error) =>
      e instanceof ModelError && /the shipped model file is damaged .*; reinstall netvis$/.test(e.message),
  );
  const samples = readdirSync(SHIPPED_SAMPLE_DIR).filter((f) => f.endsWith('.JPEG'));
  assert.ok(samples.length >= 5 && samples.length <= 6, `${samples.length} samples`);
  const size = samples.reduce((n, f) => n + statSync(join(SHIPPED_SAMPLE_DIR, f)).size, 0);
  assert.ok(size <= 600_000, `${size} bytes`);
  for (const f of samples)
    assert.ok(readFileSync(join(SHIPPED_SAMPLE_DIR, f)).equals(readFileSync(join(IMAGES, f))), f);
});

const tmp = mkdtempSync(join(tmpdir(), 'netvis-shipped-'));

test("'crane' names two classes: the CLI lists both display names, and either display name or wnid works", async () => {
  const image = join(SHIPPED_SAMPLE_DIR, 'n02441942_weasel.JPEG');
  const ambiguous = await runCli(['attribute', image, '--target', 'crane', '-o', join(tmp, 'a.png')]);
  assert.equal(ambiguous.code, 1);
  assert.equal(
    ambiguous.stderr,
    "netvis: class name 'crane' is ambiguous: 'crane (n02012849)' (134), 'crane (n03126707)' (517); give a display name, a WordNet id or an index\n",
  );
  const picked = await runCli([
    'attribute',
    image,
    image,
    '--target',
    'Crane (n03126707)',
    'n02012849',
    '-o',
    join(tmp, 'b.png'),
    '--json',
  ]);
  assert.equal(picked.code, 0, picked.stderr);
  const rows = JSON.parse(picked.stdout).images as { label: { index: number; name: string; wnid: string } }[];
  assert.deepEqual(
    rows.map((r) => r.label),
    [
      { index: 517, name: 'crane (n03126707)', wnid: 'n03126707' },
      { index: 134, name: 'crane (n02012849)', wnid: 'n02012849' },
    ],
  );
});
