import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  foolingRate,
  randomPerturbation,
  universalPerturbation,
} from '../src/methods/adversarial/universal.js';
import { eightBitPixels } from '../src/methods/adversarial/attack.js';
import { argmaxRows } from '../src/methods/common.js';
import type { Classifier } from '../src/model/classifier.js';
import { loadClassifier } from '../src/model/load.js';
import { sliceBatch } from '../src/tensor.js';
import { readNpy } from './support/npy.js';
import { REFERENCE } from './support/shared.js';

const inputs = readNpy(join(REFERENCE, 'inputs.npy'));

let classifier: Classifier;
before(async () => {
  classifier = await loadClassifier();
});
after(() => classifier.dispose());

test('a universal perturbation at 10/255 L∞: whole pixel values within ξ; its sizes and fooling rate as measured on 8-bit images', async () => {
  const images = sliceBatch(inputs, 0, 4);
  const r = await universalPerturbation(classifier, images, { eps: 10, maxPasses: 2, seed: 0 });
  const v = r.perturbation.data;
  // Whole pixel values within ξ, and the reported sizes are exactly the perturbation's.
  let linf = 0;
  let l2 = 0;
  for (const x of v) {
    assert.equal(x, Math.round(x));
    linf = Math.max(linf, Math.abs(x));
    l2 += x * x;
  }
  assert.ok(linf <= 10);
  assert.equal(r.linfPixels, linf);
  assert.equal(r.l2Pixels, Math.sqrt(l2));
  // The fooling rate it reports is measured again here, on 8-bit images: original pixels plus v, clipped.
  const again = await foolingRate(classifier, images, r.perturbation);
  assert.equal(again.rate, r.foolingRate);
  const u = eightBitPixels(images, classifier.preprocessing);
  const per = v.length;
  const p = classifier.preprocessing;
  let fooled = 0;
  for (let i = 0; i < 4; i++) {
    const moved = new Float32Array(per);
    for (let j = 0; j < per; j++) moved[j] = Math.min(255, Math.max(0, u[i * per + j] + v[j]));
    const plane = per / 3;
    const x = Float32Array.from(moved, (m, j) => {
      const c = Math.floor(j / plane);
      return (m / 255 - p.mean[c]) / p.std[c];
    });
    const [pred] = argmaxRows(await classifier.logits({ data: x, dims: [1, 3, 224, 224] }));
    if (pred !== again.clean[i]) fooled++;
  }
  assert.equal(fooled / 4, r.foolingRate);
  // Not asserted: how many it fools. On these 4 images in 2 passes it fooled 3; on the 13 even-numbered shared
  // images all 13, but none of the 12 others (the paper computes on 10 000 images; ../shared holds 25).
  process.stderr.write(
    `universal: fools ${fooled} of 4 after ${r.passes} passes, L∞ ${linf}, L2 ${Math.sqrt(l2).toFixed(1)}\n`,
  );
});

test('the random-noise baseline has the budget of the universal perturbation: ±⌊ξ⌋ everywhere (L∞), L2 within ξ (L2)', () => {
  const dims = [1, 3, 224, 224];
  const linf = randomPerturbation(dims, 'linf', 10.7, 3);
  assert.deepEqual(linf.dims, dims);
  const values = new Set(linf.data);
  assert.deepEqual(
    [...values].sort((a, b) => a - b),
    [-10, 10],
  );
  // Both signs about equally often (150 528 fair coin flips: 5 standard deviations is ±0.65 %).
  const plus = linf.data.filter((x) => x > 0).length / linf.data.length;
  assert.ok(Math.abs(plus - 0.5) < 0.0065, `${plus}`);
  // The same seed gives the same noise, another seed other noise.
  assert.deepEqual(randomPerturbation(dims, 'linf', 10.7, 3).data, linf.data);
  assert.notDeepEqual(randomPerturbation(dims, 'linf', 10.7, 4).data, linf.data);
  const l2 = randomPerturbation(dims, 'l2', 2000, 0);
  let s = 0;
  for (const x of l2.data) {
    assert.equal(x, Math.round(x));
    s += x * x;
  }
  // Whole values within ξ, and rounding only trims the norm a little (most values are ±5 of a σ ≈ 5.2 Gaussian).
  assert.ok(Math.sqrt(s) <= 2000 && Math.sqrt(s) > 1900, `${Math.sqrt(s)}`);
});
