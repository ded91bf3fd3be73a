import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deprocess, validRange } from '../src/image/preprocess.js';
import { argmaxRows } from '../src/methods/common.js';
import { gramDiversity } from '../src/methods/featureviz/diversity.js';
import { visualizeFeatures } from '../src/methods/featureviz/feature-visualization.js';
import { FftPlan, Irfft2 } from '../src/methods/featureviz/fft.js';
import {
  channelMean,
  classLogit,
  describeObjective,
  differenceOf,
  neuron,
  objectiveSeeds,
  scaled,
  sumOf,
} from '../src/methods/featureviz/objectives.js';
import { fourierImage, pixelImage } from '../src/methods/featureviz/parameterization.js';
import { applyRegularizers } from '../src/methods/featureviz/regularizers.js';
import { IDENTITY_AFFINE, Warp } from '../src/methods/featureviz/transforms.js';
import { Random } from '../src/methods/random.js';
import type { Classifier } from '../src/model/classifier.js';
import { loadClassifier } from '../src/model/load.js';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const randoms = (n: number, seed: number) => new Random(seed).normals(n);

describe('Fourier parameterization pieces', () => {
  test('FftPlan matches a direct DFT for lengths with radices 2, 3, 4, 5 and 7, forward and inverse', () => {
    for (const n of [1, 2, 3, 8, 12, 14, 20, 28, 30]) {
      const count = 2;
      const re = Float64Array.from(randoms(n * count, n));
      const im = Float64Array.from(randoms(n * count, n + 100));
      for (const inverse of [false, true]) {
        const fr = re.slice();
        const fi = im.slice();
        new FftPlan(n).transform(fr, fi, inverse, count);
        for (let v = 0; v < count; v++)
          for (let k = 0; k < n; k++) {
            let sr = 0;
            let si = 0;
            for (let j = 0; j < n; j++) {
              const a = ((inverse ? 2 : -2) * Math.PI * j * k) / n;
              sr += re[j * count + v] * Math.cos(a) - im[j * count + v] * Math.sin(a);
              si += re[j * count + v] * Math.sin(a) + im[j * count + v] * Math.cos(a);
            }
            assert.ok(
              Math.abs(sr - fr[k * count + v]) < 1e-9 && Math.abs(si - fi[k * count + v]) < 1e-9,
              `n ${n}`,
            );
          }
      }
    }
  });

  test('Irfft2 is numpy.fft.irfft2 (checked against the direct sum) and its adjoint passes the dot-product test', () => {
    for (const [h, w] of [
      [6, 8],
      [5, 7],
      [4, 1],
    ]) {
      const t = new Irfft2(h, w);
      const fw = t.freqWidth;
      const re = randoms(h * fw, 1);
      const im = randoms(h * fw, 2);
      const out = new Float32Array(h * w);
      t.forward(re, im, out);
      // numpy's irfft2: complex inverse DFT along H, then a real inverse DFT along W reading the real part of the
      // DC (and even-width Nyquist) bin and both halves of the others.
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          let s = 0;
          for (let kx = 0; kx < fw; kx++) {
            let cr = 0;
            let ci = 0;
            for (let ky = 0; ky < h; ky++) {
              const a = (2 * Math.PI * ky * y) / h;
              cr += re[ky * fw + kx] * Math.cos(a) - im[ky * fw + kx] * Math.sin(a);
              ci += re[ky * fw + kx] * Math.sin(a) + im[ky * fw + kx] * Math.cos(a);
            }
            const b = (2 * Math.PI * kx * x) / w;
            const edge = kx === 0 || 2 * kx === w;
            s += edge ? cr * Math.cos(b) : 2 * (cr * Math.cos(b) - ci * Math.sin(b));
          }
          assert.ok(Math.abs(s / (h * w) - out[y * w + x]) < 1e-5, `${h}×${w} at ${y},${x}`);
        }
    }
    for (const [h, w] of [
      [6, 8],
      [5, 7],
      [224, 224],
    ]) {
      const t = new Irfft2(h, w);
      const fw = t.freqWidth;
      const re = randoms(h * fw, 3);
      const im = randoms(h * fw, 4);
      const out = new Float32Array(h * w);
      t.forward(re, im, out);
      const g = randoms(h * w, 5);
      const gr = new Float32Array(h * fw);
      const gi = new Float32Array(h * fw);
      t.adjoint(g, gr, gi);
      const lhs = dot(out, g);
      const rhs = dot(re, gr) + dot(im, gi);
      assert.ok(Math.abs(lhs - rhs) <= 1e-5 * Math.abs(lhs), `${h}×${w}: ${lhs} vs ${rhs}`);
    }
  });

  test('both parameterizations render into (0, 1) and their backward matches finite differences', () => {
    for (const make of [fourierImage, pixelImage]) {
      for (const decorrelate of [true, false]) {
        const param = make({ batch: 2, size: 8, decorrelate, sd: 0.5, seed: 3 });
        const rgb = param.render();
        assert.equal(rgb.length, 2 * 3 * 64);
        assert.ok(rgb.every((v) => v > 0 && v < 1));
        const a = randoms(rgb.length, 7);
        const grad = param.backward(a);
        const rng = new Random(11);
        for (let k = 0; k < 12; k++) {
          const i = rng.int(0, param.params.length - 1);
          const old = param.params[i];
          const h = 1e-2;
          param.params[i] = old + h;
          const up = dot(a, param.render());
          param.params[i] = old - h;
          const down = dot(a, param.render());
          param.params[i] = old;
          const fd = (up - down) / (2 * h);
          assert.ok(
            Math.abs(fd - grad[i]) <= 1e-3 + 2e-2 * Math.abs(fd),
            `${make.name} ${i}: ${grad[i]} vs ${fd}`,
          );
        }
      }
    }
  });

  test('the warp is the identity at the identity transform, fills grey outside, and its adjoint passes the dot test', () => {
    const size = 12;
    const img = randoms(3 * size * size, 1).map((v) => 0.5 + 0.1 * v);
    const out = new Float32Array(img.length);
    new Warp(size, IDENTITY_AFFINE).apply(img, 0, out, 0);
    assert.ok(out.every((v, i) => Math.abs(v - img[i]) < 1e-6));
    // Padding by `size` px shrinks the image to a third in the middle of a grey view.
    new Warp(size, IDENTITY_AFFINE, size).apply(img, 0, out, 0);
    assert.ok(Math.abs(out[0] - 0.5) < 1e-6 && Math.abs(out[size * size - 1] - 0.5) < 1e-6);
    const warp = new Warp(size, { scale: 1.1, angle: 7, dx: 2, dy: -3 }, 2);
    const view = new Float32Array(img.length);
    warp.apply(img, 0, view, 0);
    const zero = new Float32Array(img.length);
    const base = new Float32Array(img.length);
    warp.apply(zero, 0, base, 0); // the grey part, which does not depend on the image
    const g = randoms(img.length, 2);
    const back = new Float32Array(img.length);
    warp.adjoint(g, 0, back, 0);
    const lhs = dot(
      view.map((v, i) => v - base[i]),
      g,
    );
    assert.ok(Math.abs(lhs - dot(img, back)) < 1e-4 * Math.abs(lhs));
  });

  test('diversity is N − 1 for identical images, lower for different ones, and its gradient matches finite differences', () => {
    const one = randoms(4 * 3 * 3, 1).map(Math.abs);
    const same = { data: new Float32Array([...one, ...one, ...one]), dims: [3, 4, 3, 3] };
    assert.ok(Math.abs(gramDiversity(same).value - 2) < 1e-6);
    const acts = { data: randoms(3 * 4 * 3 * 3, 2).map(Math.abs), dims: [3, 4, 3, 3] };
    const { value, grad } = gramDiversity(acts);
    assert.ok(value < 2);
    for (const i of [0, 17, 50, 100]) {
      const old = acts.data[i];
      acts.data[i] = old + 1e-3;
      const up = gramDiversity(acts).value;
      acts.data[i] = old - 1e-3;
      const down = gramDiversity(acts).value;
      acts.data[i] = old;
      const fd = (up - down) / 2e-3;
      assert.ok(Math.abs(fd - grad[i]) < 1e-3 + 1e-2 * Math.abs(fd), `${i}: ${grad[i]} vs ${fd}`);
    }
  });

  test("the L2 and TV penalties' gradients match finite differences; blur pulls towards the blurred image", () => {
    const size = 6;
    const rgb = randoms(2 * 3 * size * size, 4).map((v) => 0.5 + 0.2 * v);
    for (const weights of [{ l2: 0.7 }, { tv: 0.3 }]) {
      const grad = new Float32Array(rgb.length);
      applyRegularizers(rgb, grad, 2, size, weights);
      const penalty = () =>
        applyRegularizers(rgb, new Float32Array(rgb.length), 2, size, weights).reduce((a, b) => a + b);
      for (const i of [0, 7, 40, 150, 200]) {
        const old = rgb[i];
        rgb[i] = old + 1e-3;
        const up = penalty();
        rgb[i] = old - 1e-3;
        const down = penalty();
        rgb[i] = old;
        // Penalties are subtracted from the objective: `grad` gains −∂penalty.
        const fd = (up - down) / 2e-3;
        assert.ok(
          Math.abs(grad[i] + fd) < 1e-2 + 1e-2 * Math.abs(fd),
          `${JSON.stringify(weights)} ${i}: ${grad[i]} vs ${-fd}`,
        );
      }
    }
    // A flat image is its own blur and has no variation: no penalty, no gradient.
    const flat = new Float32Array(3 * size * size).fill(0.3);
    const g = new Float32Array(flat.length);
    assert.deepEqual(applyRegularizers(flat, g, 1, size, { blur: 1, tv: 1 }), [0]);
    assert.ok(g.every((v) => Math.abs(v) < 1e-6));
    // A single bright pixel is pulled down towards its blurred neighbourhood, its neighbours up.
    const spike = new Float32Array(3 * size * size).fill(0.3);
    spike[2 * size + 2] = 0.9;
    const gs = new Float32Array(spike.length);
    applyRegularizers(spike, gs, 1, size, { blur: 1 });
    assert.ok(gs[2 * size + 2] < 0 && gs[2 * size + 3] > 0);
  });
});

describe('feature visualization on SqueezeNet', () => {
  let classifier: Classifier;
  before(async () => {
    classifier = await loadClassifier();
  });
  after(() => classifier.dispose());

  test('objective seeds: channel mean, neuron, class logit, their sums and differences; bad channels fail early', () => {
    const dims = new Map([['features.9', [384, 13, 13]]]);
    const objective = sumOf(
      channelMean('features.9', 12),
      differenceOf(classLogit('tarantula'), scaled(neuron('features.9', 3), 0.5)),
    );
    const seeds = objectiveSeeds(classifier, [objective, channelMean('features.9', 5)], dims);
    const layer = seeds['features.9'];
    assert.deepEqual(layer.dims, [2, 384, 13, 13]);
    const plane = 169;
    const sumRange = (from: number, to: number) => layer.data.subarray(from, to).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sumRange(12 * plane, 13 * plane) - 1) < 1e-5);
    assert.equal(layer.data[3 * plane + 6 * 13 + 6], -0.5);
    assert.ok(Math.abs(sumRange(0, 384 * plane) - 0.5) < 1e-5);
    assert.ok(Math.abs(sumRange(384 * plane + 5 * plane, 384 * plane + 6 * plane) - 1) < 1e-5);
    const logits = seeds[classifier.outputName];
    assert.equal(logits.data[76], 1);
    assert.equal(
      logits.data.reduce((a, b) => a + b, 0),
      1,
    );
    assert.equal(
      describeObjective(objective, (i) => classifier.labels.name(i)),
      'features.9:12 + tarantula − 0.5·features.9:3 (neuron)',
    );
    assert.throws(
      () => objectiveSeeds(classifier, [channelMean('features.9', 384)], dims),
      /channel 384 of 'features.9' is out of range \(0 to 383\)/,
    );
  });

  test('the Fourier parameterization raises channel 12 of features.9 at least 10× over the start, to a textured image', async (t) => {
    const steps: number[] = [];
    // At 160 px (half the work of 224) the rise is the same: 15.2× here, 16.3× at 224.
    const r = await visualizeFeatures(classifier, channelMean('features.9', 12), {
      size: 160,
      onStep: (t) => steps.push(t),
    });
    assert.equal(steps.length, 256);
    assert.equal(r.history.length, 256);
    const [start] = r.initialObjective;
    const [end] = r.finalObjective;
    assert.ok(start > 1, `starting objective ${start}`);
    t.diagnostic(`objective ${start.toFixed(2)} -> ${end.toFixed(2)} (${(end / start).toFixed(1)}×)`);
    assert.ok(end >= 10 * start, `objective ${start} -> ${end}`);
    const [img] = deprocess(r.images);
    const plane = img.width * img.height;
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < plane; i++) {
        const v = img.data[i * 3 + c];
        s += v;
        s2 += v * v;
      }
      const std = Math.sqrt(s2 / plane - (s / plane) ** 2);
      t.diagnostic(`channel ${c}: std ${std.toFixed(1)} in 0-255`);
      assert.ok(std > 10, `channel ${c}: std ${std}`);
    }
    // The sigmoid keeps every value a valid pixel.
    const ranges = validRange(classifier.preprocessing);
    for (let c = 0; c < 3; c++)
      for (const v of r.images.data.subarray(c * plane, (c + 1) * plane))
        assert.ok(v >= ranges[c][0] && v <= ranges[c][1]);
  });

  test('a channel that is zero on the grey start still rises (redirected ReLU over the first steps)', async () => {
    const r = await visualizeFeatures(classifier, channelMean('features.9', 0), { iterations: 24 });
    assert.equal(r.initialObjective[0], 0);
    assert.ok(r.finalObjective[0] > 1, `objective ${r.finalObjective[0]}`);
  });

  test('a class logit objective with the pixel parameterization makes the class top-1', async () => {
    const r = await visualizeFeatures(classifier, classLogit('tarantula'), {
      param: 'pixel',
      iterations: 48,
    });
    assert.ok(
      r.finalObjective[0] > r.initialObjective[0] + 20,
      `${r.initialObjective} -> ${r.finalObjective}`,
    );
    assert.equal(argmaxRows(await classifier.logits(r.images))[0], 76);
  });

  test('the diversity term makes a batch less alike than the same run without it', async () => {
    const run = (weight: number) =>
      visualizeFeatures(classifier, [channelMean('features.9', 12), channelMean('features.9', 12)], {
        iterations: 8,
        diversity: { layer: 'features.9', weight },
      });
    const plain = await run(0);
    const diverse = await run(100);
    // Identical images score 1 for a pair; the plain pair stays alike, the diverse one not.
    assert.ok(
      plain.diversity! > 0.8 && diverse.diversity! < 0.5,
      `${diverse.diversity} vs ${plain.diversity}`,
    );
  });

  test('results are reproducible for a seed, differ across seeds, and an AbortSignal stops the loop', async () => {
    const a = await visualizeFeatures(classifier, channelMean('features.9', 3), { iterations: 3, seed: 1 });
    const b = await visualizeFeatures(classifier, channelMean('features.9', 3), { iterations: 3, seed: 1 });
    const c = await visualizeFeatures(classifier, channelMean('features.9', 3), { iterations: 3, seed: 2 });
    assert.deepEqual(a.images.data, b.images.data);
    assert.notDeepEqual(a.images.data, c.images.data);
    const controller = new AbortController();
    await assert.rejects(
      visualizeFeatures(classifier, channelMean('features.9', 3), {
        signal: controller.signal,
        onStep: (t) => t === 2 && controller.abort(new DOMException('stop', 'AbortError')),
      }),
      { name: 'AbortError' },
    );
    await assert.rejects(
      visualizeFeatures(classifier, channelMean('no.such.layer', 0)),
      /no layer or tensor named 'no.such.layer'/,
    );
  });
});
