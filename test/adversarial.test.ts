import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deprocess, imageToTensor } from '../src/image/preprocess.js';
import type { AttackResult } from '../src/methods/adversarial/attack.js';
import { bim } from '../src/methods/adversarial/bim.js';
import { roundWithinBudget } from '../src/methods/adversarial/budgeted.js';
import { carliniWagnerL2 } from '../src/methods/adversarial/carlini-wagner.js';
import { deepFool } from '../src/methods/adversarial/deepfool.js';
import { fgsm } from '../src/methods/adversarial/fgsm.js';
import { pgd } from '../src/methods/adversarial/pgd.js';
import { pgdL2 } from '../src/methods/adversarial/pgd-l2.js';
import { robustnessCurve } from '../src/methods/adversarial/robustness.js';
import { argmaxRows } from '../src/methods/common.js';
import type { Classifier } from '../src/model/classifier.js';
import { loadClassifier } from '../src/model/load.js';
import { concatBatch, sliceBatch, type Tensor } from '../src/tensor.js';
import { readNpy } from './support/npy.js';
import { REFERENCE, referenceMeta } from './support/shared.js';

const meta = referenceMeta();
const inputs = readNpy(join(REFERENCE, 'inputs.npy'));
// The reference images the model classifies correctly (14 of 25).
const correctRows = meta.labels.flatMap((l, i) => (l === meta.top1_pred[i] ? [i] : []));
const rowsOf = (rows: number[]): Tensor => concatBatch(rows.map((i) => sliceBatch(inputs, i)));
const correct = rowsOf(correctRows);
const correctLabels = correctRows.map((i) => meta.labels[i]);

let classifier: Classifier;
before(async () => {
  classifier = await loadClassifier();
});
after(() => classifier.dispose());

/** Checks a result is an exact 8-bit image that the model classifies as reported, and returns its bytes' largest change. */
async function checkEightBit(r: AttackResult, original: Tensor): Promise<{ linf: number; l2: number }> {
  const p = classifier.preprocessing;
  const [bytes] = deprocess(r.image, p);
  const plane = bytes.width * bytes.height;
  // In [0, 255] before deprocess's clamping, and exactly the normalised tensor of its own bytes.
  for (let c = 0; c < 3; c++)
    for (let j = 0; j < plane; j++) {
      const v = (r.image.data[c * plane + j] * p.std[c] + p.mean[c]) * 255;
      assert.ok(v > -1e-3 && v < 255 + 1e-3, `pixel value ${v}`);
    }
  assert.deepEqual(imageToTensor(bytes, p).data, r.image.data);
  assert.equal(argmaxRows(await classifier.logits(r.image))[0], r.predicted);
  const [orig] = deprocess(original, p);
  let linf = 0;
  let l2 = 0;
  for (let i = 0; i < bytes.data.length; i++) {
    const d = bytes.data[i] - orig.data[i];
    linf = Math.max(linf, Math.abs(d));
    l2 += d * d;
  }
  return { linf, l2: Math.sqrt(l2) };
}

describe('budgets in 8-bit pixels', () => {
  test('rounding keeps an L∞ budget of ⌊ε⌋ and an L2 budget even when nearest rounding would break it', () => {
    const u0 = Float32Array.from({ length: 400 }, (_, i) => (i * 37) % 256);
    const u = u0.map((v, i) => Math.min(255, Math.max(0, v + (i % 2 ? 2.4 : -2.6))));
    const linf = roundWithinBudget(u, u0, 'linf', 2.5);
    assert.ok(linf.every((v, i) => Number.isInteger(v) && Math.abs(v - u0[i]) <= 2 && v >= 0 && v <= 255));
    // Changes of 0.3 to 0.9: ‖δ‖ = 12.7, but nearest rounding makes 240 of them ±1 (norm 15.5 > 13); scaled by
    // about 0.7 first, only the 160 largest round to ±1 (norm 12.6).
    const small = u0.map((v, i) => v + (v < 128 ? 1 : -1) * (0.3 + (0.6 * (i % 5)) / 4));
    const l2 = roundWithinBudget(small, u0, 'l2', 13);
    const norm = Math.sqrt(l2.reduce((s, v, i) => s + (v - u0[i]) ** 2, 0));
    assert.ok(l2.every(Number.isInteger) && norm <= 13 && norm > 12, `L2 ${norm}`);
  });
});

describe('adversarial attacks on SqueezeNet', () => {
  test('untargeted PGD-L∞ at ε 2/255 (10 steps) fools ≥ 90 % of the correctly classified images, FGSM no more often, all within budget', async (t) => {
    const opts = { eps: 2, labels: correctLabels };
    const pgdResults = await pgd(classifier, correct, { ...opts, steps: 10 });
    const fgsmResults = await fgsm(classifier, correct, opts);
    const rate = (rs: AttackResult[]) => rs.filter((r) => r.success).length / rs.length;
    assert.ok(rate(pgdResults) >= 0.9, `PGD fooled ${rate(pgdResults)}`);
    assert.ok(rate(fgsmResults) <= rate(pgdResults), `FGSM ${rate(fgsmResults)} vs PGD ${rate(pgdResults)}`);
    for (const rs of [pgdResults, fgsmResults]) {
      for (const [k, r] of rs.entries()) {
        const { linf } = await checkEightBit(r, sliceBatch(correct, k));
        assert.ok(linf <= 2, `image ${k}: L∞ ${linf}`);
        assert.ok(Math.abs(r.linfPixels - linf) < 1e-3);
        assert.equal(r.success, r.predicted !== correctLabels[k]);
        assert.equal(r.originalPrediction, correctLabels[k]);
        assert.equal(r.iterations, rs === pgdResults ? 10 : 1);
      }
    }
    t.diagnostic(`PGD fooled ${rate(pgdResults)}, FGSM ${rate(fgsmResults)} of ${correctRows.length}`);
  });

  test('targeted PGD and BIM reach the target within ε 8; PGD is reproducible for a seed', async () => {
    const four = rowsOf(correctRows.slice(0, 4));
    const targets = new Array<string>(4).fill('stingray');
    for (const run of [pgd, bim]) {
      const rs = await run(classifier, four, { eps: 8, targets });
      for (const [k, r] of rs.entries()) {
        assert.equal(r.target, 6);
        assert.ok(r.success && r.predicted === 6, `${run.name} image ${k}: predicted ${r.predicted}`);
        assert.ok((await checkEightBit(r, sliceBatch(four, k))).linf <= 8);
      }
    }
    const one = sliceBatch(four, 0);
    const a = await pgd(classifier, one, { eps: 4, steps: 2, seed: 3 });
    const b = await pgd(classifier, one, { eps: 4, steps: 2, seed: 3 });
    const c = await pgd(classifier, one, { eps: 4, steps: 2, seed: 4 });
    assert.deepEqual(a[0].image.data, b[0].image.data);
    assert.notDeepEqual(a[0].image.data, c[0].image.data);
  });

  test('DeepFool finds a smaller L2 change than PGD-L2 at the budget where PGD-L2 first succeeds, on ≥ 70 %', async (t) => {
    // Seven of the correctly classified images keep the comparison representative at half the cost.
    const seven = rowsOf(correctRows.slice(0, 7));
    const sevenLabels = correctLabels.slice(0, 7);
    const df = await deepFool(classifier, seven);
    // PGD-L2 (10 steps) over budgets 32·√2^k in 0-255 units (it fools none of these images below 32); an image is
    // attacked until it first falls.
    const eps = Array.from({ length: 9 }, (_, k) => 32 * Math.SQRT2 ** k);
    const curve = await robustnessCurve(classifier, seven, {
      attack: 'pgd-l2',
      eps,
      labels: sevenLabels,
    });
    for (let k = 1; k < curve.accuracy.length; k++) assert.ok(curve.accuracy[k] <= curve.accuracy[k - 1]);
    let wins = 0;
    for (const [k, r] of df.entries()) {
      assert.ok(r.success, `DeepFool failed on image ${k}`);
      const { l2 } = await checkEightBit(r, sliceBatch(seven, k));
      assert.ok(Math.abs(l2 - r.l2Pixels) < 1e-3);
      const broken = curve.examples[k];
      if (broken) {
        const bytes = await checkEightBit(broken, sliceBatch(seven, k));
        assert.ok(bytes.l2 <= curve.brokenAt[k]!, `PGD-L2 L2 ${bytes.l2} over ε ${curve.brokenAt[k]}`);
        if (r.l2Pixels < broken.l2Pixels) wins++;
      } else wins++;
    }
    t.diagnostic(`DeepFool L2 ${df.map((r) => r.l2Pixels.toFixed(0)).join(' ')}`);
    t.diagnostic(`PGD-L2 L2 ${curve.examples.map((r) => r?.l2Pixels.toFixed(0)).join(' ')}`);
    t.diagnostic(`DeepFool smaller on ${wins} of ${df.length}`);
    assert.ok(wins >= 0.7 * df.length, `DeepFool smaller on ${wins} of ${df.length}`);
  });

  test('Carlini-Wagner L2 targeted succeeds on ≥ 80 % with a smaller mean L2 than the fooling images', async (t) => {
    // Every other reference image (13 of 25): representative at half the cost.
    const rows = meta.labels.flatMap((_, i) => (i % 2 === 0 ? [i] : []));
    const images = rowsOf(rows);
    const rs = await carliniWagnerL2(classifier, images, {
      targets: new Array<number>(rows.length).fill(6),
      steps: 20,
      binarySearchSteps: 2,
      batchSize: rows.length,
    });
    const fooled = rs.filter((r) => r.success);
    for (const [k, r] of rs.entries()) {
      await checkEightBit(r, sliceBatch(images, k));
      assert.equal(r.success, r.predicted === 6);
      if (!r.success) assert.equal(r.l2Pixels, 0, 'an image never fooled comes back unchanged');
    }
    // The exercise's fooling images (CS231n, target stingray), as PyTorch made them: L2 in normalised units.
    const foolingL2 = rows.flatMap((i) => (meta.fooling[i].fooled ? [meta.fooling[i].l2] : []));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    t.diagnostic(
      `CW fooled ${fooled.length} of ${rows.length}, mean L2 ${mean(fooled.map((r) => r.l2)).toFixed(2)} normalised ` +
        `(${mean(fooled.map((r) => r.l2Pixels)).toFixed(1)} in 0-255); fooling images ${mean(foolingL2).toFixed(2)}`,
    );
    assert.ok(fooled.length >= 0.8 * rows.length, `${fooled.length} of ${rows.length}`);
    assert.ok(mean(fooled.map((r) => r.l2)) < mean(foolingL2));
  });

  test('a robustness curve starts at clean accuracy, never rises, and agrees with where each image fell', async () => {
    const eps = [0, 1, 2, 4];
    const curve = await robustnessCurve(classifier, inputs, { attack: 'fgsm', eps, labels: meta.labels });
    assert.deepEqual(curve.eps, eps);
    assert.equal(curve.cleanAccuracy, correctRows.length / 25);
    assert.equal(curve.accuracy[0], curve.cleanAccuracy);
    for (let k = 1; k < eps.length; k++) assert.ok(curve.accuracy[k] <= curve.accuracy[k - 1]);
    assert.ok(curve.accuracy[eps.length - 1] < curve.cleanAccuracy / 2, `${curve.accuracy}`);
    for (const [k, e] of eps.entries())
      assert.equal(curve.accuracy[k], curve.brokenAt.filter((b) => b === null || b > e).length / 25);
    for (const [i, b] of curve.brokenAt.entries()) {
      if (!correctRows.includes(i)) assert.equal(b, 0);
      const ex = curve.examples[i];
      if (ex) assert.ok(ex.linfPixels <= b! + 1e-4 && ex.predicted !== meta.labels[i]);
    }
  });

  test('bad goals and budgets fail early with what was expected', async () => {
    const two = rowsOf([0, 1]);
    await assert.rejects(pgd(classifier, two, { targets: [6] }), /pgd: 1 targets for 2 images/);
    await assert.rejects(
      fgsm(classifier, two, { targets: [6, 6], labels: [1, 2] }),
      /give targets or labels, not both/,
    );
    await assert.rejects(pgdL2(classifier, two, { eps: -1 }), /pgd-l2: eps -1, expected a number ≥ 0/);
    await assert.rejects(pgd(classifier, two, { steps: 0 }), /pgd: steps 0, expected a positive integer/);
    await assert.rejects(fgsm(classifier, two, { targets: ['tarantulla', 6] }), /closest: 'tarantula'/);
    await assert.rejects(
      robustnessCurve(classifier, two, { attack: 'pgd', eps: [] }),
      /expected budgets ≥ 0/,
    );
  });
});
