import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IMAGENET_PREPROCESSING } from '../src/image/types.js';
import {
  autoAttack,
  type AutoAttackResult,
  type AutoAttackStage,
} from '../src/methods/adversarial/autoattack.js';
import { eightBitPixels } from '../src/methods/adversarial/attack.js';
import { apgd, apgdTargeted } from '../src/methods/adversarial/apgd.js';
import type { AttackResult } from '../src/methods/adversarial/attack.js';
import { fab } from '../src/methods/adversarial/fab.js';
import { pgd } from '../src/methods/adversarial/pgd.js';
import { square } from '../src/methods/adversarial/square.js';
import { argmaxRows } from '../src/methods/common.js';
import { Classifier } from '../src/model/classifier.js';
import { ClassLabels } from '../src/model/labels.js';
import { loadClassifier } from '../src/model/load.js';
import { onnx } from '../src/onnx/proto.js';
import { randomNodes } from '../src/onnx/random-nodes.js';
import { encodeTensor } from '../src/onnx/tensor-proto.js';
import { nodeBackend } from '../src/runtime/node.js';
import { concatBatch, sliceBatch, type Tensor } from '../src/tensor.js';
import { readNpy } from './support/npy.js';
import { REFERENCE, ROOT, referenceMeta } from './support/shared.js';
import { buildModel, floatInit, type TinyNode } from './support/tiny-graph.js';

/** The reference AutoAttack's run (scripts/autoattack-reference.py, fra31/auto-attack) on the 25 shared images. */
interface Reference {
  commit: string;
  settings: { iterations: number; target_classes: number; queries: number };
  eps: number;
  seed: number;
  clean: number;
  robust: number;
  broke: Record<'apgd-ce' | 'apgd-t' | 'fab-t' | 'square', number>;
  robust_images: number[];
  /** Each of the later attacks alone on all 25 images (AutoAttack's chain leaves them nothing at this ε), and APGD-DLR. */
  alone: Record<
    'apgd-t' | 'fab-t' | 'square' | 'apgd-dlr',
    { eps: number; robust: number; robust_images: number[] }
  >;
}
const reference = JSON.parse(
  readFileSync(join(ROOT, 'test', 'fixtures', 'autoattack-reference.json'), 'utf8'),
) as Reference;
const meta = referenceMeta();
const inputs = readNpy(join(REFERENCE, 'inputs.npy'));
const n = inputs.dims[0];
const per = inputs.data.length / n;
const { eps } = reference;

let classifier: Classifier;
// AutoAttack at the fixture's budget and cheap settings, run once for the tests that read it.
let aa: AutoAttackResult;
let aaSeconds = 0;
before(async () => {
  classifier = await loadClassifier();
  const started = performance.now();
  aa = await autoAttack(classifier, inputs, {
    eps,
    labels: meta.labels,
    iterations: reference.settings.iterations,
    targetClasses: reference.settings.target_classes,
    queries: reference.settings.queries,
    seed: reference.seed,
  });
  aaSeconds = (performance.now() - started) / 1000;
});
after(() => classifier.dispose());

/** Normalised CHW values back to (unrounded) 0-255 pixel values. */
function floatPixels(x: Float32Array): Float64Array {
  const { mean, std } = classifier.preprocessing;
  const plane = per / 3;
  return Float64Array.from(x, (v, j) => {
    const c = Math.floor(j / plane) % 3;
    return (v * std[c] + mean[c]) * 255;
  });
}

const robustCount = (r: AutoAttackResult) => Math.round(r.robustAccuracy * n);

describe('AutoAttack against the reference implementation', () => {
  test(`robust accuracy at ε ${eps}/255 within one image of fra31/auto-attack's, per stage close`, () => {
    const broke = Object.fromEntries(aa.stages.map((s) => [s.attack, s.broke]));
    const info = `netvis: clean ${Math.round(aa.cleanAccuracy * n)}, robust ${robustCount(aa)}, broke ${JSON.stringify(broke)} in ${aaSeconds.toFixed(1)} s; reference: clean ${reference.clean}, robust ${reference.robust}, broke ${JSON.stringify(reference.broke)}`;
    process.stderr.write(`${info}\n`);
    assert.equal(Math.round(aa.cleanAccuracy * n), reference.clean, info);
    assert.ok(Math.abs(robustCount(aa) - reference.robust) <= 1, info);
    // The first stage breaks most; later stages only see the few images left, so each is within 2 of the reference's.
    for (const stage of ['apgd-ce', 'apgd-t', 'fab-t', 'square'] as const)
      assert.ok(Math.abs((broke[stage] ?? 0) - reference.broke[stage]) <= 2, `${stage}: ${info}`);
  });

  test('every image it reports broken is within ε and misclassified (float domain), classified again here', async () => {
    const broken = aa.brokenBy.flatMap((b, i) => (b ? [i] : []));
    assert.ok(broken.length > 0);
    const images = concatBatch(broken.map((i) => aa.results[i].unrounded!.image));
    const predicted = argmaxRows(await classifier.logits(images));
    const u = floatPixels(images.data);
    for (const [k, i] of broken.entries()) {
      assert.notEqual(predicted[k], meta.labels[i], `image ${i} is still classified as its label`);
      const u0 = eightBitPixels(sliceBatch(inputs, i), classifier.preprocessing);
      let linf = 0;
      for (let j = 0; j < per; j++) linf = Math.max(linf, Math.abs(u[k * per + j] - u0[j]));
      // The normalised float32 tensor round-trips pixel values to ~1e-4 of a level.
      assert.ok(linf <= eps + 1e-3, `image ${i}: L∞ ${linf} > ε ${eps}`);
      assert.ok(Math.abs(aa.results[i].unrounded!.linfPixels - linf) < 1e-3);
    }
  });

  test('the report says how many stay adversarial once rounded to 8 bits (none below one level)', () => {
    assert.equal(aa.rounding.broken, aa.brokenBy.filter(Boolean).length);
    // ε below one 8-bit level: rounding within it gives back the original image.
    if (eps < 1) assert.equal(aa.rounding.stayAdversarial, 0);
    for (const r of aa.results) {
      assert.ok(r.linfPixels <= Math.floor(eps + 1e-6), `rounded L∞ ${r.linfPixels}`);
      assert.equal(r.linfPixels, Math.round(r.linfPixels), 'the 8-bit image changes by whole levels');
    }
  });

  test("robust accuracy is not above PGD-L∞'s (100 steps) on the same images and ε", async () => {
    // AutoAttack's outcome on an image does not depend on the batch (its random draws are seeded from the image), so
    // six of the correctly classified images, broken and robust ones, stand for all of them at a quarter of the cost.
    const rows = correctOf(aa).slice(0, 6);
    const aaRobust = rows.filter((i) => aa.brokenBy[i] === null).length;
    assert.ok(aaRobust > 0 && aaRobust < rows.length, 'the six hold broken and robust images');
    const results = await pgd(classifier, concatBatch(rows.map((i) => sliceBatch(inputs, i))), {
      eps,
      steps: 100,
      labels: rows.map((i) => meta.labels[i]),
      seed: 0,
    });
    const pgdRobust = results.filter((r) => !r.unrounded!.success).length;
    process.stderr.write(
      `of images ${rows.join(', ')}: PGD-L∞ 100 steps leaves ${pgdRobust} robust, AutoAttack ${aaRobust}\n`,
    );
    assert.ok(aaRobust <= pgdRobust, `AutoAttack ${aaRobust} > PGD ${pgdRobust}`);
  });
});

describe('APGD-T, FAB-T and Square alone against the reference', () => {
  const settings = { labels: meta.labels, iterations: reference.settings.iterations };
  const robustImages = (rs: AttackResult[]) =>
    rs.flatMap((r, i) => (r.originalPrediction === meta.labels[i] && !r.unrounded!.success ? [i] : []));
  const cases = {
    'apgd-t': (e: number) =>
      apgdTargeted(classifier, inputs, {
        ...settings,
        eps: e,
        targetClasses: reference.settings.target_classes,
      }),
    'fab-t': (e: number) =>
      fab(classifier, inputs, { ...settings, eps: e, targetClasses: reference.settings.target_classes }),
    square: (e: number) =>
      square(classifier, inputs, {
        labels: meta.labels,
        eps: e,
        queries: reference.settings.queries,
        seed: 0,
      }),
  };
  for (const [attack, run] of Object.entries(cases) as [
    keyof Reference['alone'],
    (e: number) => Promise<AttackResult[]>,
  ][]) {
    const ref = reference.alone[attack];
    test(`${attack} at ε ${ref.eps}/255 leaves robust within one image of the reference's ${ref.robust}`, async () => {
      const robust = robustImages(await run(ref.eps));
      const info = `netvis robust [${robust}], reference [${ref.robust_images}]`;
      process.stderr.write(`${attack}: ${info}\n`);
      assert.ok(Math.abs(robust.length - ref.robust) <= 1, info);
    });
  }
});

describe('Square', () => {
  test('with a fixed seed it lowers the margin of a correctly classified image, and never runs a gradient graph', async () => {
    // An image the reference leaves robust: the margin falls without crossing zero within the budget.
    const i = reference.robust_images[0];
    const label = meta.labels[i];
    const image = sliceBatch(inputs, i);
    const margins: number[] = [];
    const k = classifier.numClasses;
    const spied = Object.create(classifier) as Classifier;
    spied.logits = async (x) => {
      const out = await classifier.logits(x);
      for (let r = 0; r < x.dims[0]; r++) {
        const z = out.data.subarray(r * k, (r + 1) * k);
        margins.push(z[label] - Math.max(...z.filter((_, j) => j !== label)));
      }
      return out;
    };
    const refuse = () => Promise.reject(new Error('Square ran a gradient graph'));
    spied.inputGradient = refuse;
    spied.objectiveGradient = refuse;
    spied.gradients = refuse;
    const run = () => square(spied, image, { eps, labels: [label], queries: 100, seed: 3 });
    await run();
    // margins: the clean pass, the first point (stripes), the queries, then the checks of the 8-bit and float results.
    const clean = margins[0];
    const queried = margins.slice(1, -2);
    const lowest = Math.min(...queried);
    assert.ok(clean > 0, 'correctly classified');
    assert.ok(lowest < clean, `lowest margin ${lowest} vs clean ${clean}`);
    assert.ok(lowest < queried[0], 'the queries lower it below the first point');
    const again = margins.length;
    margins.length = 0;
    await run();
    assert.equal(margins.length, again, 'the same seed spends the same queries');
    assert.equal(Math.min(...margins.slice(1, -2)), lowest, 'and reaches the same margin');
  });
});

/** A reference chain beside the first (scripts/autoattack-reference.py): its attacks, per-stage counts, some alone. */
interface ReferenceChain {
  version: 'standard' | 'rand';
  settings: { iterations: number; target_classes: number; queries: number; eot: number };
  attacks: AutoAttackStage[];
  eps: number;
  clean: number;
  robust: number;
  broke: Partial<Record<AutoAttackStage, number>>;
  robust_images: number[];
  alone?: Partial<Record<AutoAttackStage, { eps: number; robust: number; robust_images: number[] }>>;
}
const fixture = (name: string) =>
  JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', name), 'utf8')) as ReferenceChain;

/** The images a run classified correctly before attacking. */
const correctOf = (r: AutoAttackResult) =>
  r.labels.flatMap((l, i) => (r.results[i].originalPrediction === l ? [i] : []));

/** Runs AutoAttack with a reference chain's settings, its first `stages` attacks. */
function runChain(
  c: Classifier,
  ref: ReferenceChain,
  norm: 'linf' | 'l2',
  stages: readonly AutoAttackStage[],
): Promise<AutoAttackResult> {
  return autoAttack(c, inputs, {
    eps: ref.eps,
    norm,
    version: ref.version,
    attacks: stages,
    labels: meta.labels,
    iterations: ref.settings.iterations,
    targetClasses: ref.settings.target_classes,
    queries: ref.settings.queries,
    seed: 0,
  });
}

/** Checks a run of `runChain` against the chain: as many robust after its last attack within one image, each attack's count within two (later ones see few images). */
function checkChain(result: AutoAttackResult, ref: ReferenceChain): void {
  const stages = result.stages.map((s) => s.attack);
  const broke = Object.fromEntries(result.stages.map((s) => [s.attack, s.broke]));
  const refRobust = ref.clean - stages.reduce((s, a) => s + ref.broke[a]!, 0);
  const robust = correctOf(result).filter((i) => result.brokenBy[i] === null);
  const info = `netvis robust [${robust}], broke ${JSON.stringify(broke)}; reference robust ${refRobust} after ${stages.join(', ')}, broke ${JSON.stringify(ref.broke)}`;
  const seconds = result.stages.map((s) => `${s.attack} ${s.seconds.toFixed(1)} s`).join(', ');
  process.stderr.write(`AutoAttack ${ref.version} ε ${ref.eps}: ${info} (${seconds})\n`);
  assert.equal(Math.round(result.cleanAccuracy * n), ref.clean, info);
  assert.ok(Math.abs(robust.length - refRobust) <= 1, info);
  for (const stage of stages) assert.ok(Math.abs(broke[stage] - ref.broke[stage]!) <= 2, `${stage}: ${info}`);
}

/**
 * The correctly classified images `attack` alone leaves robust, from a chain that ran it: the chain's verdict on the
 * images it reached, and `run` (the attack alone) on the images earlier attacks broke. An image's outcome does not
 * depend on its batch (its random draws are seeded from its pixels), so this is the attack on all of them, for the
 * price of the images broken early, which break fast.
 */
async function robustAlone(
  chain: AutoAttackResult,
  attack: AutoAttackStage,
  run: (images: Tensor, labels: number[]) => Promise<AttackResult[]>,
): Promise<number[]> {
  const order = chain.stages.map((s) => s.attack);
  const earlier = new Set(order.slice(0, order.indexOf(attack)));
  const correct = correctOf(chain);
  const skipped = correct.filter((i) => earlier.has(chain.brokenBy[i]!));
  const results =
    skipped.length === 0
      ? []
      : await run(
          concatBatch(skipped.map((i) => sliceBatch(inputs, i))),
          skipped.map((i) => meta.labels[i]),
        );
  const broken = new Set(skipped.filter((_, k) => results[k].unrounded!.success));
  return correct.filter(
    (i) => !broken.has(i) && !earlier.has(chain.brokenBy[i]!) && chain.brokenBy[i] !== attack,
  );
}

const l2 = fixture('autoattack-reference-l2.json');
describe(`L2 at ε ${l2.eps} (0-255 pixel units) against the reference`, () => {
  // FAB-T and Square, after APGD-T in the reference's chain, broke none there and are left out for time: on the 8
  // images left, FAB-T's 10 steps took 7 s and Square's 100 queries (each a forward pass) 44 s on a loaded 2-core
  // machine. Run alone by hand, each agreed with the reference (the fixture's alone_note).
  let chain: AutoAttackResult;
  before(async () => {
    chain = await runChain(classifier, l2, 'l2', ['apgd-ce', 'apgd-t']);
  });
  const settings = {
    norm: 'l2' as const,
    eps: l2.eps,
    iterations: l2.settings.iterations,
    targetClasses: l2.settings.target_classes,
  };
  test('AutoAttack (APGD-CE, APGD-T): robust within one image of the reference, per attack close', () =>
    checkChain(chain, l2));
  const ref = l2.alone!['apgd-t']!;
  test(`APGD-T alone leaves robust within one image of the reference's ${ref.robust}`, async () => {
    const robust = await robustAlone(chain, 'apgd-t', (images, labels) =>
      apgdTargeted(classifier, images, { ...settings, labels }),
    );
    const info = `netvis robust [${robust}], reference [${ref.robust_images}]`;
    process.stderr.write(`apgd-t L2 alone: ${info}\n`);
    assert.ok(Math.abs(robust.length - ref.robust) <= 1, info);
  });
});

const rand = fixture('autoattack-reference-rand.json');
describe(`AutoAttack version 'rand' (APGD-CE, APGD-DLR; EOT ${rand.settings.eot}) against the reference`, () => {
  let chain: AutoAttackResult;
  let rows = 0;
  before(async () => {
    const spied = Object.create(classifier) as Classifier;
    spied.objectiveGradient = (x, request) => {
      rows += x.dims[0];
      return classifier.objectiveGradient(x, request);
    };
    chain = await runChain(spied, rand, 'linf', rand.attacks);
  });
  test('robust within one image, per attack close; one gradient per step on a model with no random node', () => {
    checkChain(chain, rand);
    // SqueezeNet has no random node: EOT's draws would all give the same gradient, so each step takes one.
    const steps = rand.settings.iterations + 1;
    const most = chain.stages.reduce((s, st) => s + st.attacked * steps, 0);
    process.stderr.write(
      `'rand': ${rows} gradient rows, at most ${most} at one per step (${rand.settings.eot}× that with all EOT draws)\n`,
    );
    assert.ok(rows <= most, `${rows} gradient rows > ${most}`);
  });

  const ref = reference.alone['apgd-dlr'];
  test(`APGD-DLR alone at ε ${ref.eps}/255 leaves robust within one image of the reference's ${ref.robust}`, async () => {
    const robust = await robustAlone(chain, 'apgd-dlr', (images, labels) =>
      apgd(classifier, images, { labels, eps: ref.eps, iterations: rand.settings.iterations, loss: 'dlr' }),
    );
    const info = `netvis robust [${robust}], reference [${ref.robust_images}]`;
    process.stderr.write(`apgd-dlr alone: ${info}\n`);
    assert.ok(Math.abs(robust.length - ref.robust) <= 1, info);
  });
});

describe('EOT', () => {
  /** 3 classes on 8×8 images: logits = W · (the channel means of x, plus RandomNormal noise when `noisy`). */
  function tinyClassifier(noisy: boolean): Classifier {
    const nodes: TinyNode[] = noisy
      ? [
          {
            op: 'RandomNormal',
            inputs: [],
            outputs: ['noise'],
            attrs: { shape: { ints: [1, 3, 8, 8] }, scale: { f: 0.01 } },
          },
          { op: 'Add', inputs: ['x', 'noise'], outputs: ['xn'] },
        ]
      : [{ op: 'Identity', inputs: ['x'], outputs: ['xn'] }];
    const model = buildModel({
      inputs: [{ name: 'x', dims: [1, 3, 8, 8], dtype: 'float32' }],
      outputs: ['logits'],
      nodes: [
        ...nodes,
        { op: 'GlobalAveragePool', inputs: ['xn'], outputs: ['pooled'] },
        { op: 'Flatten', inputs: ['pooled'], outputs: ['features'] },
        { op: 'Gemm', inputs: ['features', 'w'], outputs: ['logits'], attrs: { transB: { i: 1 } } },
      ],
      initializers: [floatInit('w', 'float32', [3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1])],
    });
    model.graph.input[0].type!.tensorType!.shape!.dim![0] = { dimParam: 'N' };
    const labels = ClassLabels.fromJson(['a', 'b', 'c']);
    return new Classifier(
      model,
      { labels, preprocessing: { ...IMAGENET_PREPROCESSING, resize: 8, crop: 8 } },
      nodeBackend,
    );
  }

  test('APGD averages eot gradients per step on a model with a random node, and takes one where all would be equal', async () => {
    // An image far from the boundary (class 0 by a wide margin), so that no run ends early: 4 steps after the start.
    const image = {
      data: Float32Array.from({ length: 192 }, (_, j) => (j < 64 ? 2 : -1)),
      dims: [1, 3, 8, 8],
    };
    const runs: Record<string, number> = {};
    for (const noisy of [false, true]) {
      const c = tinyClassifier(noisy);
      try {
        const [r] = await apgd(c, image, { eps: 0.5, iterations: 4, eot: 3 });
        assert.equal(r.unrounded!.success, false);
        runs[noisy ? 'random' : 'deterministic'] = r.iterations;
      } finally {
        await c.dispose();
      }
    }
    assert.deepEqual(runs, { deterministic: 5, random: 15 });
  });

  test('randomNodes finds the samplers and training-mode Dropout, in subgraphs and functions too', () => {
    assert.deepEqual(randomNodes(classifier.model), []);
    const dropout = (train: onnx.TensorProto[] | 'input' | 'none') =>
      buildModel({
        inputs: [
          { name: 'x', dims: [1, 4], dtype: 'float32' },
          ...(train === 'input' ? [{ name: 'train', dims: [], dtype: 'float32' as const }] : []),
        ],
        outputs: ['y'],
        nodes: [
          {
            op: 'Dropout',
            inputs: train === 'none' ? ['x'] : ['x', '', 'train'],
            outputs: ['y'],
            name: 'drop',
          },
        ],
        initializers: Array.isArray(train) ? train : [],
      });
    const bool = (v: number) => encodeTensor('train', 'bool', [], Uint8Array.of(v));
    const found = (m: onnx.ModelProto) => randomNodes(m).map((r) => `${r.opType} ${r.node}`);
    assert.deepEqual(found(dropout('none')), []);
    assert.deepEqual(found(dropout([bool(0)])), []);
    assert.deepEqual(found(dropout([bool(1)])), ['Dropout drop']);
    assert.deepEqual(found(dropout('input')), ['Dropout drop']);
    const sampler = onnx.NodeProto.create({
      opType: 'RandomUniformLike',
      name: 'u',
      input: ['x'],
      output: ['r'],
    });
    const inBranch = dropout('none');
    inBranch.graph.node.push(
      onnx.NodeProto.create({
        opType: 'If',
        name: 'if',
        input: ['c'],
        output: ['z'],
        attribute: [
          onnx.AttributeProto.create({
            name: 'then_branch',
            type: onnx.AttributeProto.AttributeType.GRAPH,
            g: onnx.GraphProto.create({ node: [sampler] }),
          }),
        ],
      }) as onnx.NodeProto,
    );
    assert.deepEqual(found(inBranch), ['RandomUniformLike u']);
    const inFunction = dropout('none');
    inFunction.functions = [onnx.FunctionProto.create({ name: 'f', domain: 'local', node: [sampler] })];
    assert.deepEqual(found(inFunction), ['RandomUniformLike u']);
  });
});
