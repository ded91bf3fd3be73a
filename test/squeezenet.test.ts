import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadImageBatch } from '../src/image/load.js';
import { saliency } from '../src/methods/attribution/saliency.js';
import { argmaxRows } from '../src/methods/common.js';
import type { Classifier } from '../src/model/classifier.js';
import { loadClassifier } from '../src/model/load.js';
import { readNpy } from './support/npy.js';
import { IMAGES, REFERENCE, referenceMeta, relativeL2 } from './support/shared.js';

const meta = referenceMeta();
const inputs = readNpy(join(REFERENCE, 'inputs.npy'));
let classifier: Classifier;

before(async () => {
  classifier = await loadClassifier();
});
after(() => classifier.dispose());

test('SqueezeNet logits on the reference inputs are within 1e-3 of PyTorch', async () => {
  const ref = readNpy(join(REFERENCE, 'logits.npy'));
  const logits = await classifier.logits(inputs);
  assert.deepEqual(logits.dims, [25, 1000]);
  const maxDiff = ref.data.reduce((m, v, i) => Math.max(m, Math.abs(v - logits.data[i])), 0);
  assert.ok(maxDiff <= 1e-3, `max abs diff ${maxDiff}`);
  assert.deepEqual(argmaxRows(logits), meta.top1_pred);
});

test('CS231n saliency from the compiled gradient matches PyTorch (≤1e-3 on 20 of 25, ≤2e-2 on all)', async () => {
  const ref = readNpy(join(REFERENCE, 'saliency.npy'));
  const result = await saliency(classifier, inputs, meta.labels);
  assert.deepEqual(result.maps.dims, [25, 224, 224]);
  assert.deepEqual(result.labels, meta.labels);
  const plane = 224 * 224;
  const errors = meta.labels.map((_, i) =>
    relativeL2(
      result.maps.data.subarray(i * plane, (i + 1) * plane),
      ref.data.subarray(i * plane, (i + 1) * plane),
    ),
  );
  const close = errors.filter((e) => e <= 1e-3).length;
  assert.ok(
    close >= 20,
    `only ${close} of 25 within 1e-3: ${errors.map((e) => e.toExponential(1)).join(' ')}`,
  );
  assert.ok(Math.max(...errors) <= 2e-2, `worst ${Math.max(...errors)}`);
});

test("decoding and preprocessing the 25 JPEGs gives PyTorch's top-1 on at least 24", async () => {
  const { tensor } = await loadImageBatch(
    meta.images.map((f) => join(IMAGES, f)),
    classifier.preprocessing,
  );
  const predicted = argmaxRows(await classifier.logits(tensor));
  const agree = predicted.filter((p, i) => p === meta.top1_pred[i]).length;
  assert.ok(agree >= 24, `top-1 agrees on ${agree} of 25`);
});
