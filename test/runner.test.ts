import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { renderLeaderboardHtml } from '../src/render/leaderboard.js';
import { ResultsDatabase, resultKey } from '../src/runner/database.js';
import { readDataset } from '../src/runner/manifest.js';
import { planTasks, TASK_IMAGES } from '../src/runner/plan.js';
import { parseSpecs } from '../src/runner/spec.js';
import { bootstrapMean } from '../src/runner/summary.js';
import type { TaskResult } from '../src/runner/task.js';
import { IMAGES, referenceMeta, runCli } from './support/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'netvis-runner-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const meta = referenceMeta();

test('parseSpecs: names with bracketed options, kebab keys stored camelCase, labels sorted; malformed lists rejected', () => {
  const specs = parseSpecs(
    'saliency, ig[steps=32,baseline=blur],pixel-flipping[features-in-step=224,abs=true]',
    'x',
  );
  assert.deepEqual(
    specs.map((s) => [s.name, s.options, s.label]),
    [
      ['saliency', {}, 'saliency'],
      ['ig', { steps: 32, baseline: 'blur' }, 'ig[baseline=blur,steps=32]'],
      ['pixel-flipping', { featuresInStep: 224, abs: true }, 'pixel-flipping[abs=true,featuresInStep=224]'],
    ],
  );
  assert.throws(() => parseSpecs('ig[steps=32', '--methods'), /--methods: '\[' after 'ig' is not closed/);
  assert.throws(() => parseSpecs('ig[steps]', '--methods'), /option 'steps' of 'ig' is not key=value/);
  assert.throws(() => parseSpecs('saliency,saliency', '--methods'), /'saliency' is listed twice/);
  assert.throws(() => parseSpecs('', '--metrics'), /empty list/);
});

test('readDataset: a folder sorted by name; CSV (quoted fields, boxes) and JSONL manifests; errors name file and line', async () => {
  const folder = await readDataset(IMAGES);
  assert.equal(folder.length, 25);
  assert.deepEqual(
    folder.map((i) => i.name),
    [...meta.images].sort(),
  );
  const [a, b] = meta.images;
  const csv = join(dir, 'm.csv');
  writeFileSync(csv, `path,label,box\n"${join(IMAGES, a)}",tarantula,10 20 110 120\n${join(IMAGES, b)},,\n`);
  const rows = await readDataset(csv);
  assert.deepEqual(
    rows.map((r) => [r.name, r.label, r.box]),
    [
      [join(IMAGES, a), 'tarantula', [10, 20, 110, 120]],
      [join(IMAGES, b), undefined, undefined],
    ],
  );
  const jsonl = join(dir, 'm.jsonl');
  writeFileSync(jsonl, `{"path": "${join(IMAGES, a)}", "label": 76, "box": [0, 0, 5, 5]}\n\n`);
  assert.deepEqual((await readDataset(jsonl))[0].box, [0, 0, 5, 5]);
  writeFileSync(jsonl, `{"path": "${join(IMAGES, a)}", "box": [5, 0, 1, 5]}\n`);
  await assert.rejects(readDataset(jsonl), /m\.jsonl:1: box \[5,0,1,5\], expected four numbers/);
  writeFileSync(csv, `path,label\n${join(IMAGES, a)},x\nmissing.jpg,y\n`);
  await assert.rejects(readDataset(csv), /m\.csv:3: image .*missing\.jpg does not exist/);
  writeFileSync(csv, `file,label\n`);
  await assert.rejects(readDataset(csv), /m\.csv:1: the header needs a 'path' column/);
});

test('bootstrapMean: the interval collapses on constant data and matches 1.96·s/√n on 400 draws', () => {
  assert.deepEqual(bootstrapMean([2, 2, 2]), { mean: 2, low: 2, high: 2, n: 3 });
  assert.equal(bootstrapMean([1, NaN, 3]).n, 2);
  // Values 0..399 in a scrambled order: mean 199.5, population s = 115.47; the bootstrap half-width ≈ 1.96 s / √n.
  const values = Array.from({ length: 400 }, (_, i) => (i * 7919) % 400);
  const e = bootstrapMean(values);
  const halfWidth = (1.96 * Math.sqrt((400 * 400 - 1) / 12)) / Math.sqrt(400);
  assert.equal(e.mean, 199.5);
  assert.ok(Math.abs((e.high - e.low) / 2 - halfWidth) < 0.1 * halfWidth, `${e.low}..${e.high}`);
  assert.ok(Math.abs((e.high + e.low) / 2 - 199.5) < 0.1 * halfWidth);
});

test('results database: a task recorded twice is one row per key; parquet and CSV exports hold the run, one row per image, method and metric', async () => {
  const path = join(dir, 'r.duckdb');
  const db = await ResultsDatabase.open(path);
  const [method] = parseSpecs('ig[steps=4]', 'm');
  const metrics = parseSpecs('sparseness,complexity', 'x');
  const images = [
    { hash: 'aa', name: "o'brien.jpg" },
    { hash: 'bb', name: 'b.jpg' },
  ];
  const model = { ref: 'tiny', hash: 'ff' };
  const result = (v: number): TaskResult => ({
    id: 't',
    labels: [3, 4],
    values: [
      [v, v + 1],
      [v + 2, v + 3],
    ],
    seconds: { maps: 1, metrics: [2, 4] },
    maps: images.map(() => ({ height: 2, width: 2, data: Float32Array.of(1, 2, 3, 4) })),
    memory: { heapUsed: 0, arrayBuffers: 0, rss: 0 },
  });
  await Promise.all([
    db.record({ model, method, metrics, images }, result(0)),
    db.record({ model, method, metrics, images }, result(10)),
  ]);
  const done = await db.doneKeys('ff');
  assert.equal(done.size, 4);
  assert.ok(done.has(resultKey('bb', method, metrics[1])));
  const run = {
    modelHash: 'ff',
    images: new Map(images.map((i) => [i.hash, i.name])),
    methods: [method],
    metrics,
  };
  const rows = await db.runRows(run);
  assert.deepEqual(
    rows.map((r) => [r.image, r.method, r.metric, r.value, r.label]),
    [
      ["o'brien.jpg", 'ig[steps=4]', 'complexity', 12, 3],
      ["o'brien.jpg", 'ig[steps=4]', 'sparseness', 10, 3],
      ['b.jpg', 'ig[steps=4]', 'complexity', 13, 4],
      ['b.jpg', 'ig[steps=4]', 'sparseness', 11, 4],
    ],
  );
  assert.deepEqual([...(await db.runMaps(run)).get('bb\u0000ig[steps=4]')!.data], [1, 2, 3, 4]);
  assert.equal(await db.export(run, join(dir, 'r.parquet')), 4);
  assert.equal(await db.export(run, join(dir, 'r.csv')), 4);
  db.close();
  const reader = await (
    await (await DuckDBInstance.create(':memory:')).connect()
  ).runAndReadAll(`select image, method, metric, value from '${join(dir, 'r.parquet')}' order by value`);
  assert.deepEqual(reader.getRows()[0], ["o'brien.jpg", 'ig[steps=4]', 'sparseness', 10]);
  // The plan skips what is done and cuts the dataset at fixed positions.
  const hashed = Array.from({ length: TASK_IMAGES + 1 }, (_, i) => ({
    item: { path: '', name: `${i}` },
    hash: i < 2 ? ['aa', 'bb'][i] : `h${i}`,
  }));
  const tasks = planTasks(hashed, model, [method], metrics, done);
  assert.deepEqual(
    tasks.map((t) => t.images.map((i) => i.hash)),
    [hashed.slice(0, TASK_IMAGES).map((h) => h.hash), [`h${TASK_IMAGES}`]],
  );
  assert.equal(planTasks(hashed.slice(0, 2), model, [method], metrics, done).length, 0);
});

test('leaderboard HTML: directions, intervals, the best method per metric, one plot per category, escaped names', () => {
  const html = renderLeaderboardHtml({
    title: 'T',
    meta: { model: 'm' },
    methods: ['saliency', '<b>'],
    metrics: [
      {
        label: 'pixel-flipping',
        title: 'Pixel-Flipping',
        category: 'faithfulness',
        direction: 'lower',
        paper: 'Bach et al. 2015',
      },
      {
        label: 'sparseness',
        title: 'Sparseness',
        category: 'complexity',
        direction: 'higher',
        paper: 'Chalasani et al. 2020',
      },
    ],
    estimates: {
      saliency: {
        'pixel-flipping': { mean: 0.2, low: 0.1, high: 0.3, n: 5 },
        sparseness: { mean: 0.5, low: 0.4, high: 0.6, n: 5 },
      },
      '<b>': {
        'pixel-flipping': { mean: 0.4, low: 0.3, high: 0.5, n: 5 },
        sparseness: { mean: 0.7, low: 0.6, high: 0.8, n: 5 },
      },
    },
    images: [
      { name: 'a.jpg', label: 'cat', figure: 'images/0001-a.png', values: { saliency: { sparseness: 0.5 } } },
    ],
  });
  assert.match(html, /pixel-flipping ↓<br><small>lower is better/);
  assert.match(html, /sparseness ↑<br><small>higher is better/);
  assert.match(html, /<td class="best">0\.2<br><small>\[0\.1, 0\.3\]/);
  assert.match(html, /<td class="best">0\.7<br>/);
  assert.equal(html.match(/<svg /g)?.length, 2);
  assert.ok(html.includes('&lt;b&gt;') && !html.includes('<b>'));
  assert.match(html, /<details><summary>a\.jpg/);
});

test('benchmark: usage errors exit 2 and bad data exits 1, with one line naming the input', async () => {
  const unknown = await runCli(['benchmark', IMAGES, '--methods', 'saliency', '--metrics', 'pixel-flip']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^netvis: unknown metric 'pixel-flip'; expected one of .*pixel-flipping/);
  const option = await runCli(['benchmark', IMAGES, '--methods', 'ig[stpes=3]', '--metrics', 'sparseness']);
  assert.equal(option.code, 2);
  assert.match(option.stderr, /ig: unknown option 'stpes'/);
  const masks = await runCli(['benchmark', IMAGES, '--methods', 'saliency', '--metrics', 'pointing-game']);
  assert.equal(masks.code, 2);
  assert.match(masks.stderr, /'pointing-game' needs a box or mask for every image/);
  const csv = join(dir, 'labels.csv');
  writeFileSync(csv, `path,label\n${join(IMAGES, meta.images[0])},not-a-class\n`);
  const label = await runCli([
    'benchmark',
    csv,
    '--methods',
    'saliency',
    '--metrics',
    'sparseness',
    '--db',
    join(dir, 'l.duckdb'),
  ]);
  assert.equal(label.code, 1);
  assert.match(label.stderr, /unknown class 'not-a-class'/);
  assert.doesNotMatch(label.stderr, /looks like a bug/);
});
