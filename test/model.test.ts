import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cacheDir, findModel, modelSearchPath, ModelNotFoundError } from '../src/model/find.js';
import { ClassLabels, ClassLookupError } from '../src/model/labels.js';
import { loadClassifier } from '../src/model/load.js';
import { ModelError } from '../src/onnx/proto.js';
import { closestStrings, levenshtein } from '../src/util/closest.js';
import { FIXTURES, ROOT, SHARED } from './support/shared.js';

const imagenet = ClassLabels.fromJson(
  JSON.parse(readFileSync(join(SHARED, 'models', 'imagenet_classes.json'), 'utf8')),
);

test('classes resolve by index, WordNet id and case-insensitive name (any of its names)', () => {
  assert.equal(imagenet.size, 1000);
  assert.equal(imagenet.resolve(76).names[0], 'tarantula');
  assert.equal(imagenet.resolve('76').index, 76);
  assert.equal(imagenet.resolve('n01774750').index, 76);
  assert.equal(imagenet.resolve('Electric Guitar').index, 546);
  assert.equal(imagenet.resolve('Carcharodon carcharias').index, 2);
  assert.equal(imagenet.name(6), 'stingray');
});

test('unknown, ambiguous and out-of-range classes give helpful errors', () => {
  assert.throws(() => imagenet.resolve('-3'), /class index -3 is out of range \(0 to 999\)/);
  assert.throws(
    () => imagenet.resolve('stingrey'),
    (e: Error) => e instanceof ClassLookupError && /closest: 'stingray'/.test(e.message),
  );
  assert.throws(
    () => imagenet.resolve('crane'),
    /ambiguous: 'crane \(n02012849\)' \(134\), 'crane \(n03126707\)' \(517\); give a display name/,
  );
  assert.throws(() => imagenet.resolve(1000), /out of range \(0 to 999\)/);
  assert.deepEqual(imagenet.closest('guitar', 2), ['acoustic guitar', 'electric guitar']);
});

test('models are found by path, then NETVIS_MODEL_DIR, then the user cache, then the shipped models', () => {
  const home = mkdtempSync(join(tmpdir(), 'netvis-find-'));
  const modelDir = join(home, 'models');
  const cache = join(home, 'cache');
  mkdirSync(modelDir);
  mkdirSync(join(cache, 'netvis', 'added'), { recursive: true });
  const env = { XDG_CACHE_HOME: cache } as NodeJS.ProcessEnv;
  assert.equal(findModel('squeezenet1_1', env), join(ROOT, 'models', 'squeezenet1_1.onnx'));
  copyFileSync(join(FIXTURES, 'resblock.onnx'), join(cache, 'netvis', 'squeezenet1_1.onnx'));
  assert.equal(findModel('squeezenet1_1', env), join(cache, 'netvis', 'squeezenet1_1.onnx'));
  copyFileSync(join(FIXTURES, 'resblock.onnx'), join(modelDir, 'squeezenet1_1.onnx'));
  assert.equal(
    findModel('squeezenet1_1', { ...env, NETVIS_MODEL_DIR: modelDir }),
    join(modelDir, 'squeezenet1_1.onnx'),
  );
  // `netvis models add` keeps each model in a folder of its name; $NETVIS_CACHE replaces the cache folder.
  copyFileSync(join(FIXTURES, 'resblock.onnx'), join(cache, 'netvis', 'added', 'added.onnx'));
  assert.equal(findModel('added', env), join(cache, 'netvis', 'added', 'added.onnx'));
  assert.equal(cacheDir({ ...env, NETVIS_CACHE: modelDir }), modelDir);
  assert.equal(findModel(join(FIXTURES, 'vgg_head.onnx'), env), join(FIXTURES, 'vgg_head.onnx'));
  assert.deepEqual(modelSearchPath({ ...env, NETVIS_MODEL_DIR: modelDir }), [
    modelDir,
    join(cache, 'netvis'),
    join(ROOT, 'models'),
  ]);
  assert.throws(
    () => findModel('resnet50', env),
    (e: Error) =>
      e instanceof ModelNotFoundError &&
      e.message.includes(join(cache, 'netvis')) &&
      e.message.includes('netvis models add'),
  );
});

test('a sidecar gives labels and preprocessing; bad sidecars and labels are refused clearly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netvis-sidecar-'));
  const model = join(dir, 'tiny.onnx');
  copyFileSync(join(FIXTURES, 'resblock.onnx'), model);
  writeFileSync(
    join(dir, 'tiny.json'),
    JSON.stringify({
      labels: 'tiny-labels.json',
      preprocessing: { resize: 40, crop: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    }),
  );
  writeFileSync(
    join(dir, 'tiny-labels.json'),
    JSON.stringify(Array.from({ length: 10 }, (_, i) => `thing ${i}`)),
  );
  const c = await loadClassifier({ model });
  assert.equal(c.labels.name(3), 'thing 3');
  assert.deepEqual(c.preprocessing, { resize: 40, crop: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
  const logits = await c.logits({ data: new Float32Array(2 * 3 * 32 * 32), dims: [2, 3, 32, 32] });
  assert.deepEqual(logits.dims, [2, 10]);
  await c.dispose();
  writeFileSync(
    join(dir, 'tiny.json'),
    JSON.stringify({ labels: 'tiny-labels.json', preprocessing: { crop: 300 } }),
  );
  await assert.rejects(
    loadClassifier({ model }),
    (e: Error) => e instanceof ModelError && /0 < crop ≤ resize/.test(e.message),
  );
  writeFileSync(join(dir, 'tiny.json'), '{ not json');
  await assert.rejects(loadClassifier({ model }), /tiny\.json is not valid JSON/);
  writeFileSync(join(dir, 'tiny.json'), JSON.stringify({ labels: 'missing.json' }));
  await assert.rejects(loadClassifier({ model }), /missing\.json cannot be read|no labels/);
});

test('closest strings: edit distance by hand, containing matches first, ties alphabetical, case kept', () => {
  assert.equal(levenshtein('kitten', 'sitting'), 3);
  assert.equal(levenshtein('', 'abc'), 3);
  assert.equal(levenshtein('flaw', 'lawn'), 2);
  // 'features.1' contains 'features.1' (score 0); 'Features.12' too, case-insensitively (1 more edit);
  // 'feature.1' is one edit away but does not contain the text.
  assert.deepEqual(
    closestStrings('features.1', ['feature.1', 'Features.12', 'features.1', 'classifier.1'], 3),
    ['features.1', 'Features.12', 'feature.1'],
  );
  assert.deepEqual(closestStrings('b', ['c', 'a', 'c'], 5), ['a', 'c']);
});
