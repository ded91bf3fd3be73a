// Every metric against Quantus's scores on a small fixed case (test/fixtures/quantus, made by scripts/quantus-reference.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IMAGENET_PREPROCESSING } from '../src/image/types.js';
import { Classifier } from '../src/model/classifier.js';
import { ClassLabels } from '../src/model/labels.js';
import { slic } from '../src/image/slic.js';
import { inputXGradient } from '../src/methods/attribution/input-x-gradient.js';
import { channelSum } from '../src/methods/attribution/support.js';
import { saliency } from '../src/methods/attribution/saliency.js';
import { pixelFlippingCurves } from '../src/methods/evaluation/pixel-flipping.js';
import { regionPerturbationCurves } from '../src/methods/evaluation/region-perturbation.js';
import { selectivityCurves } from '../src/methods/evaluation/selectivity.js';
import { noisyLinearImputation } from '../src/methods/evaluation/noisy-linear-imputation.js';
import { completenessGap } from '../src/methods/evaluation/completeness.js';
import { ssim } from '../src/methods/evaluation/random-logit.js';
import { descending } from '../src/methods/evaluation/support.js';
import { METRICS } from '../src/methods/evaluation/registry.js';
import type { MetricInput } from '../src/methods/evaluation/types.js';
import { GRADIENT_OPSET } from '../src/autodiff/opset.js';
import { convertOpset } from '../src/onnx/opset-convert.js';
import { decodeModel } from '../src/onnx/proto.js';
import { Random } from '../src/methods/random.js';
import { nodeBackend } from '../src/runtime/node.js';
import type { Tensor } from '../src/tensor.js';
import { ROOT } from './support/shared.js';

const DIR = join(ROOT, 'test', 'fixtures', 'quantus');

interface Case {
  metric: string;
  options: Record<string, unknown>;
  map: string;
  scores: number[];
  curves?: number[][];
  /** The method the metric re-runs, when not saliency. */
  explain?: string;
}

interface Reference {
  quantus: string;
  dims: number[];
  x: string;
  labels: number[];
  maps: Record<string, string>;
  /** Per image, the box [y0, y1, x0, x1) that is its ground-truth mask. */
  boxes: number[][];
  /** scikit-image's SLIC labels of each image, as Quantus's IROF computes them. */
  segments: number[][];
  /** Quantus's noisy linear imputation (no noise) of some pixels of one image. */
  imputation: { image: number; share: number; imputed: string };
  /** Per map, its sums and the changes of the logit from the 'black' baseline that Quantus's Completeness compares. */
  completeness: Record<string, { sum: number[]; difference: number[] }>;
  /** Quantus's SSIM of the saliency and input×gradient maps (each normalised by its largest absolute value). */
  ssim: number[];
  cases: Case[];
  /** Per stochastic metric, Quantus's per-image scores under numpy seeds 0..9. */
  stochastic: (Omit<Case, 'scores'> & { seeds: number[][] })[];
}

const reference = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as Reference;

function floats(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4).slice();
}

const [n, , h, w] = reference.dims;
const images: Tensor = { data: floats(reference.x), dims: reference.dims };
// N×H×W maps, or N×3×H×W (one value per channel).
const maps = Object.fromEntries(
  Object.entries(reference.maps).map(([k, v]) => {
    const data = floats(v);
    return [k, { data, dims: data.length === n * h * w ? [n, h, w] : [n, 3, h, w] }];
  }),
) as Record<string, Tensor>;
const masks: Tensor = { data: new Float32Array(n * h * w), dims: [n, h, w] };
reference.boxes.forEach(([y0, y1, x0, x1], i) => {
  for (let y = y0; y < y1; y++) masks.data.fill(1, (i * h + y) * w + x0, (i * h + y) * w + x1);
});

let tiny: Classifier;
before(() => {
  const model = decodeModel(readFileSync(join(DIR, 'tiny.onnx')), 'tiny.onnx');
  convertOpset(model, GRADIENT_OPSET, 'tiny.onnx'); // exported at opset 13; loadClassifier would convert it too
  const labels = new ClassLabels(
    Array.from({ length: 10 }, (_, index) => ({ index, names: [`class ${index}`] })),
  );
  tiny = new Classifier(model, { labels, preprocessing: IMAGENET_PREPROCESSING }, nodeBackend, 'tiny.onnx');
});
after(() => tiny.dispose());

const explainers: Record<string, MetricInput['explain']> = {
  saliency: async (c, x, labels) => (await saliency(c, x, labels)).maps,
  'input-x-gradient': async (c, x, labels) => channelSum((await inputXGradient(c, x, labels)).maps),
};

function input(map: string, explain = 'saliency'): MetricInput {
  return {
    classifier: tiny,
    images,
    maps: maps[map],
    labels: reference.labels,
    explain: explainers[explain],
    masks,
  };
}

test("SLIC superpixels equal scikit-image's, label for label", () => {
  const plane = h * w;
  reference.segments.forEach((expected, i) => {
    const interleaved = new Float64Array(3 * plane);
    for (let p = 0; p < plane; p++)
      for (let c = 0; c < 3; c++) interleaved[p * 3 + c] = images.data[(i * 3 + c) * plane + p];
    assert.deepEqual(Array.from(slic(interleaved, h, w)), expected);
  });
});

test("noisy linear imputation without noise equals Quantus's within 1e-5", () => {
  const { image, share, imputed } = reference.imputation;
  const plane = h * w;
  const x = images.data.slice(image * 3 * plane, (image + 1) * 3 * plane);
  const indices = descending(maps.saliency.data.subarray(image * plane, (image + 1) * plane)).subarray(
    0,
    Math.trunc(plane * share),
  );
  const got = noisyLinearImputation(x, 3, h, w, indices, 0, new Random(0));
  const expected = floats(imputed);
  let worst = 0;
  for (let c = 0; c < 3; c++)
    indices.forEach(
      (p, k) => (worst = Math.max(worst, Math.abs(got[c * plane + p] - expected[c * indices.length + k]))),
    );
  assert.ok(worst <= 1e-5, `largest difference ${worst}`);
});

test("Completeness compares what Quantus compares: the maps' sums and the logits' changes, within 1e-4", async () => {
  for (const [map, expected] of Object.entries(reference.completeness)) {
    const got = await completenessGap(input(map));
    for (const key of ['sum', 'difference'] as const)
      got[key].forEach((v, i) =>
        assert.ok(
          Math.abs(v - expected[key][i]) <= 1e-4,
          `${map} ${key} ${i}: ${v}, Quantus ${expected[key][i]}`,
        ),
      );
  }
});

test("SSIM, Random Logit's similarity, equals scikit-image's within 1e-4", () => {
  const unit = (t: Tensor, i: number) => {
    const row = t.data.slice(i * h * w, (i + 1) * h * w);
    const max = row.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    return row.map((v) => v / max);
  };
  reference.ssim.forEach((expected, i) => {
    const got = ssim(unit(maps.saliency, i), unit(maps['input-x-gradient'], i));
    assert.ok(Math.abs(got - expected) <= 1e-4, `image ${i}: ${got}, scikit-image ${expected}`);
  });
});

/** Per curve metric: its curves and the score the registry reports from them. */
const curveMetrics: Record<
  string,
  (i: MetricInput, o: Record<string, unknown>) => Promise<[number[][], number[]]>
> = {
  'pixel-flipping': async (i, o) => {
    const r = await pixelFlippingCurves(i, o);
    return [r.curves, r.auc];
  },
  'region-perturbation': async (i, o) => {
    const r = await regionPerturbationCurves(i, o);
    return [r.curves, r.aopc];
  },
  selectivity: async (i, o) => {
    const r = await selectivityCurves(i, o);
    return [r.curves, r.auc];
  },
};

describe(`deterministic metrics equal Quantus ${reference.quantus.slice(0, 7)}'s scores (and curves) within 1e-4`, () => {
  for (const c of reference.cases) {
    test(`${c.metric} ${JSON.stringify(c.options)} on the ${c.map} map`, async () => {
      const curves = curveMetrics[c.metric];
      const [gotCurves, got] = curves
        ? await curves(input(c.map, c.explain), c.options)
        : [undefined, await METRICS[c.metric].evaluate(input(c.map, c.explain), c.options)];
      got.forEach((v, i) =>
        assert.ok(Math.abs(v - c.scores[i]) <= 1e-4, `image ${i}: netvis ${v}, Quantus ${c.scores[i]}`),
      );
      c.curves?.forEach((expected, i) => {
        assert.equal(gotCurves![i].length, expected.length);
        expected.forEach((v, k) =>
          assert.ok(
            Math.abs(gotCurves![i][k] - v) <= 1e-4,
            `image ${i} point ${k}: ${gotCurves![i][k]}, Quantus ${v}`,
          ),
        );
      });
    });
  }
});

describe("stochastic metrics fall within the spread of Quantus's scores over 10 seeds (mean ± 3 sd)", () => {
  for (const c of reference.stochastic) {
    test(`${c.metric} ${JSON.stringify(c.options)} on the ${c.map} map`, async () => {
      const got = await METRICS[c.metric].evaluate(input(c.map, c.explain), c.options);
      got.forEach((v, i) => {
        const runs = c.seeds.map((s) => s[i]);
        const mean = runs.reduce((s, r) => s + r, 0) / runs.length;
        const sd = Math.sqrt(runs.reduce((s, r) => s + (r - mean) ** 2, 0) / (runs.length - 1));
        assert.ok(
          Math.abs(v - mean) <= 3 * sd,
          `image ${i}: netvis ${v}, Quantus ${mean} ± ${sd} (from ${Math.min(...runs)} to ${Math.max(...runs)})`,
        );
      });
    });
  }
});
