// Hand-computable cases of every metric in the registry, on a linear two-class model over 2×2 images.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IMAGENET_PREPROCESSING } from '../src/image/types.js';
import { Classifier } from '../src/model/classifier.js';
import { ClassLabels } from '../src/model/labels.js';
import { saliency } from '../src/methods/attribution/saliency.js';
import { noisyLinearImputation } from '../src/methods/evaluation/noisy-linear-imputation.js';
import { METRICS } from '../src/methods/evaluation/registry.js';
import type { Explainer, MetricInput } from '../src/methods/evaluation/types.js';
import { Random } from '../src/methods/random.js';
import { nodeBackend } from '../src/runtime/node.js';
import type { Tensor } from '../src/tensor.js';
import { buildModel, floatInit } from './support/tiny-graph.js';

/**
 * logit₀ = Σ x + bias (a 1×1 convolution summing the channels, then a Gemm summing the pixels), logit₁ = 0, over
 * N×3×2×2 images: every score below follows from sums of pixel values.
 */
function linearClassifier(bias: number): Classifier {
  const model = buildModel({
    inputs: [{ name: 'x', dims: [1, 3, 2, 2], dtype: 'float32' }],
    outputs: ['logits'],
    nodes: [
      { op: 'Conv', inputs: ['x', 'Wc'], outputs: ['c'], name: '/conv/Conv' },
      { op: 'Flatten', inputs: ['c'], outputs: ['flat'] },
      {
        op: 'Gemm',
        inputs: ['flat', 'W', 'B'],
        outputs: ['logits'],
        attrs: { transB: { i: 1 } },
        name: '/fc/Gemm',
      },
    ],
    initializers: [
      floatInit('Wc', 'float32', [1, 3, 1, 1], [1, 1, 1]),
      floatInit('W', 'float32', [2, 4], [1, 1, 1, 1, 0, 0, 0, 0]),
      floatInit('B', 'float32', [2], [bias, 0]),
    ],
  });
  model.graph.input[0].type!.tensorType!.shape!.dim![0] = { dimParam: 'N' };
  const labels = ClassLabels.fromJson(['zero', 'one']);
  return new Classifier(
    model,
    { labels, preprocessing: { ...IMAGENET_PREPROCESSING, resize: 2, crop: 2 } },
    nodeBackend,
  );
}

// One image, pixels 4 3 / 2 1 in every channel: Σ x = 30, the smallest value ('black') 1.
const x: Tensor = { data: Float32Array.from([4, 3, 2, 1, 4, 3, 2, 1, 4, 3, 2, 1]), dims: [1, 3, 2, 2] };
const pixelMap = (values: number[]): Tensor => ({ data: Float32Array.from(values), dims: [1, 2, 2] });
const firstChannel: Explainer = async (_c, images) => {
  const [n, , h, w] = images.dims;
  const out = new Float32Array(n * h * w);
  for (let i = 0; i < n; i++) out.set(images.data.subarray(i * 3 * h * w, i * 3 * h * w + h * w), i * h * w);
  return { data: out, dims: [n, h, w] };
};
const identity: Explainer = async (_c, images) => ({ data: images.data.slice(), dims: [...images.dims] });
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

let linear: Classifier;
let biased: Classifier;
before(() => {
  linear = linearClassifier(0);
  biased = linearClassifier(-29);
});
after(async () => {
  await linear.dispose();
  await biased.dispose();
});

function input(maps: Tensor, extra: Partial<MetricInput> = {}): MetricInput {
  return { classifier: linear, images: x, maps, labels: [0], explain: firstChannel, ...extra };
}

async function score(metric: string, i: MetricInput, options: Record<string, unknown> = {}): Promise<number> {
  const [v] = await METRICS[metric].evaluate(i, options);
  return v;
}

const close = (got: number, expected: number, tolerance = 1e-6) =>
  assert.ok(Math.abs(got - expected) <= tolerance, `got ${got}, expected ${expected}`);

describe('faithfulness, by hand (logits, baseline 1)', () => {
  const map = pixelMap([4, 3, 2, 1]);
  test('Pixel-Flipping: 3 values of each pixel from the most relevant; Σ x falls 27 24 21 19 17 15 14 13 12 12 12 12', async () => {
    // Trapezoid rule with unit spacing: the sum 198 − (27 + 12)/2.
    close(await score('pixel-flipping', input(map), { softmax: false }), 178.5, 1e-4);
  });
  test('Region Perturbation with 1-pixel patches: drops 9 15 18 18, AOPC (0 + 9 + 15 + 18 + 18) / 5 = 12', async () => {
    close(await score('region-perturbation', input(map), { patchSize: 1, softmax: false }), 12, 1e-5);
  });
  test('Selectivity with 1-pixel patches: 21 15 12 12, area 60 − (21 + 12)/2 = 43.5', async () => {
    close(await score('selectivity', input(map), { patchSize: 1, softmax: false }), 43.5, 1e-4);
  });
  test('Faithfulness Correlation: a map equal to each value’s drop to the baseline correlates 1, its negation −1', async () => {
    const drop = pixelMap([3, 2, 1, 0]);
    close(await score('faithfulness-correlation', input(drop), { subsetSize: 3, nrRuns: 10 }), 1);
    close(
      await score('faithfulness-correlation', input(pixelMap([-3, -2, -1, 0])), {
        subsetSize: 3,
        nrRuns: 10,
      }),
      -1,
    );
  });
  test('Monotonicity Correlation: squared drops rise with the map’s values: Spearman 1', async () => {
    const options = { perturbBaseline: 'black', nrSamples: 1, softmax: false };
    close(await score('monotonicity-correlation', input(pixelMap([3, 2, 1, 0])), options), 1);
  });
  test('IROF: 4 one-pixel superpixels; 21/30 15/30 12/30 12/30; 4 − area 1.45 = 2.55', async () => {
    close(await score('irof', input(map), { perturbBaseline: 'black', softmax: false }), 2.55, 1e-6);
  });
  test('ROAD: imputing the top-left pixel gives it (3/6 + 2/6 + 1/12) / (5/12) = 2.2, which flips the prediction', async () => {
    const imputed = noisyLinearImputation(x.data, 3, 2, 2, [0], 0, new Random(0));
    for (let c = 0; c < 3; c++) close(imputed[c * 4], 2.2);
    // logit₀ = Σ x − 29: 1 before (right), 24.6 − 29 after (wrong): accuracy 1 then 0.
    close(await score('road', input(map, { classifier: biased }), { percentages: [0, 25], noise: 0 }), 0.5);
  });
  test('Deletion AUC: Σ x 30 18 9 3 0 as pixels go to 0; insertion from an unblurred start stays at p(x)', async () => {
    const p = [30, 18, 9, 3, 0].map((s) => sigmoid(s - 29));
    const area = (p.reduce((s, v) => s + v, 0) - p[0] / 2 - p[4] / 2) / 4;
    close(await score('deletion-auc', input(map, { classifier: biased }), { steps: 4 }), area);
    close(
      await score('insertion-auc', input(map, { classifier: biased }), { steps: 4, blurSigma: 0.01 }),
      sigmoid(1),
    );
  });
});

describe('robustness, by hand', () => {
  test('Max- and Avg-Sensitivity: noise of exactly 0.1 moves the first-channel map by ‖0.1·1‖ = 0.2 (÷ √30 relative)', async () => {
    const noise = { lowerBound: 0.1, upperBound: 0.1, nrSamples: 3 };
    for (const metric of ['max-sensitivity', 'avg-sensitivity']) {
      close(await score(metric, input(pixelMap([4, 3, 2, 1])), noise), 0.2);
      close(
        await score(metric, input(pixelMap([4, 3, 2, 1])), { ...noise, relative: true }),
        0.2 / Math.sqrt(30),
      );
    }
  });
  test('Local Lipschitz Estimate and Relative Input Stability of the identity map are 1', async () => {
    const i = input(x, { explain: identity });
    close(await score('local-lipschitz-estimate', i, { normalise: false, nrSamples: 5 }), 1, 1e-6);
    close(await score('relative-input-stability', i, { nrSamples: 5 }), 1, 1e-6);
  });
});

describe('complexity, by hand', () => {
  test('Sparseness: Gini index 1 − 1/4 for one-hot, 0 for constant', async () => {
    close(await score('sparseness', input(pixelMap([0, 0, 0, 5]))), 0.75);
    close(await score('sparseness', input(pixelMap([2, 2, 2, 2]))), 0);
  });
  test('Complexity: entropy 0 for one-hot, ln 4 for constant', async () => {
    close(await score('complexity', input(pixelMap([0, 0, 0, 5]))), 0);
    close(await score('complexity', input(pixelMap([2, 2, 2, 2]))), Math.log(4));
  });
  test('Effective Complexity: values above 1e-5 of the largest', async () => {
    assert.equal(await score('effective-complexity', input(pixelMap([0, 1e-6, 0.5, 1]))), 2);
  });
});

describe('randomisation, by hand: a map that ignores the model and the class', () => {
  test('MPRT: rank correlation 1 after randomising both layers; Efficient MPRT: entropy unchanged, 0', async () => {
    close(await score('mprt', input(pixelMap([4, 3, 2, 1]))), 1);
    close(await score('efficient-mprt', input(pixelMap([4, 3, 2, 1]))), 0);
  });
  test('Random Logit: the other class’s map is the same map: SSIM 1', async () => {
    const wide: Tensor = {
      data: Float32Array.from({ length: 12 * 4 }, (_, f) => (f * 7) % 5),
      dims: [1, 3, 4, 4],
    };
    const maps = await firstChannel(linear, wide, [0]);
    close(await score('random-logit', { ...input(maps), images: wide }), 1, 1e-12);
  });
});

describe('axiomatic, by hand', () => {
  test('Completeness: x − 1 sums to 18 = logit(x) − logit(all 1); twice it does not', async () => {
    const drop: Tensor = { data: x.data.map((v) => v - 1), dims: [1, 3, 2, 2] };
    assert.equal(await score('completeness', input(drop)), 1);
    assert.equal(await score('completeness', input({ ...drop, data: drop.data.map((v) => 2 * v) })), 0);
  });
  test('Non-Sensitivity: the pixel already at the baseline is irrelevant and unmoved; marked relevant, 3 violations', async () => {
    assert.equal(await score('non-sensitivity', input(pixelMap([3, 2, 1, 0])), { softmax: false }), 0);
    assert.equal(await score('non-sensitivity', input(pixelMap([1, 1, 1, 1])), { softmax: false }), 3);
  });
  test('Input Invariance: the gradient ignores a shift the first layer undoes (1); the input itself does not (0)', async () => {
    const gradient: Explainer = async (c, images, labels) => (await saliency(c, images, labels)).maps;
    assert.equal(
      await score('input-invariance', input((await saliency(linear, x, [0])).maps, { explain: gradient })),
      1,
    );
    assert.equal(await score('input-invariance', input(await firstChannel(linear, x, [0]))), 0);
  });
});

describe('localisation, by hand: map 4 3 / 2 1, mask on the diagonal 1 0 / 0 1', () => {
  const masks = pixelMap([1, 0, 0, 1]);
  const i = () => input(pixelMap([4, 3, 2, 1]), { masks });
  test('Pointing Game 1, Attribution Localisation 0.5, Top-2 Intersection 0.5, Relevance Mass 0.5, Rank 0.5, AUC 0.5', async () => {
    assert.equal(await score('pointing-game', i()), 1);
    close(await score('attribution-localisation', i()), 0.5);
    close(await score('top-k-intersection', i(), { k: 2 }), 0.5);
    close(await score('relevance-mass-accuracy', i()), 0.5);
    close(await score('relevance-rank-accuracy', i()), 0.5);
    close(await score('auc', i()), 0.5);
  });
  test('an empty mask scores NaN', async () => {
    assert.ok(
      Number.isNaN(
        await score('pointing-game', input(pixelMap([4, 3, 2, 1]), { masks: pixelMap([0, 0, 0, 0]) })),
      ),
    );
  });
});

test('the registry lists the 28 metrics of issue 14, each with a paper, a direction and working defaults', () => {
  assert.equal(Object.keys(METRICS).length, 28);
  for (const [name, m] of Object.entries(METRICS)) {
    assert.match(name, /^[a-z]+(-[a-z]+)*$/);
    assert.ok(m.paper.length > 10 && ['higher', 'lower'].includes(m.direction), name);
  }
});

test('unknown or mistyped options are refused with the metric and the option named', async () => {
  await assert.rejects(
    score('sparseness', input(pixelMap([1, 2, 3, 4])), { bogus: 1 }),
    /sparseness: unknown option 'bogus'/,
  );
  await assert.rejects(
    score('pixel-flipping', input(pixelMap([1, 2, 3, 4])), { featuresInStep: '3' }),
    /pixel-flipping: option 'featuresInStep' is "3", expected a number/,
  );
  await assert.rejects(
    score('pixel-flipping', input(pixelMap([1, 2, 3, 4])), { featuresInStep: 3 }),
    /does not divide/,
  );
});
