// Objective heads against PyTorch autograd in float64 (test/fixtures/objective-heads.json, made by
// scripts/objective-heads-fixture.py from AutoAttack's own DLR and targeted-CE code).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { compileGradient } from '../src/autodiff/compile.js';
import type { ObjectiveHead } from '../src/autodiff/types.js';
import { IMAGENET_PREPROCESSING } from '../src/image/types.js';
import { Classifier } from '../src/model/classifier.js';
import { ClassLabels } from '../src/model/labels.js';
import { encodeModel } from '../src/onnx/proto.js';
import type { RuntimeTensor } from '../src/runtime/backend.js';
import { nodeBackend } from '../src/runtime/node.js';
import { probeTensorInfo } from '../src/runtime/probe.js';
import { ROOT } from './support/shared.js';
import { buildModel, type FloatType } from './support/tiny-graph.js';

interface Fixture {
  logits: number[][];
  labels: number[];
  targets: number[];
  weights: number[];
  heads: Record<string, { head: ObjectiveHead; classes: number[]; loss: number[]; grad: number[][] }>;
}
const fixture = JSON.parse(
  readFileSync(join(ROOT, 'test', 'fixtures', 'objective-heads.json'), 'utf8'),
) as Fixture;
const N = fixture.logits.length;
const K = fixture.logits[0].length;

/** A model whose logits are its input, so the input gradient is the head's logits gradient. */
const passThrough = (dtype: FloatType, classes = K) =>
  buildModel({
    inputs: [{ name: 'x', dims: [N, classes], dtype }],
    outputs: ['logits'],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['logits'] }],
  });

const int64 = (v: number[]): RuntimeTensor => ({
  type: 'int64',
  dims: [v.length],
  data: BigInt64Array.from(v, (x) => BigInt(x)),
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('objective heads', () => {
  for (const [name, ref] of Object.entries(fixture.heads)) {
    test(`${name}: per-row loss and logit gradient equal PyTorch autograd in float64 (≤ 1e-12)`, async () => {
      const model = passThrough('float64');
      const x: RuntimeTensor = {
        type: 'float64',
        dims: [N, K],
        data: Float64Array.from(fixture.logits.flat()),
      };
      const info = await probeTensorInfo(nodeBackend, model, { x });
      const compiled = compileGradient(model, { objective: { head: ref.head } }, info);
      const io = compiled.objective!;
      assert.deepEqual(compiled.seedInputs, {});
      const feeds: Record<string, RuntimeTensor> = {
        x,
        [io.classes]: int64(ref.classes),
        [io.seed]: { type: 'float64', dims: [N], data: Float64Array.from(fixture.weights) },
      };
      if (io.labels) feeds[io.labels] = int64(fixture.labels);
      const session = await nodeBackend.createSession(encodeModel(compiled.model));
      try {
        const out = await session.run(feeds);
        assert.ok(
          maxAbsDiff(out[io.loss].data as Float64Array, ref.loss) <= 1e-12,
          `loss ${out[io.loss].data}`,
        );
        const diff = maxAbsDiff(out.dx.data as Float64Array, ref.grad.flat());
        assert.ok(diff <= 1e-12, `gradient max abs diff ${diff}`);
      } finally {
        await session.release();
      }
    });
  }

  test('through a float32 Classifier: loss and gradient beside the logits, to float32 precision; bad rows fail early', async () => {
    const model = passThrough('float32');
    model.graph.input[0].type!.tensorType!.shape!.dim![0] = { dimParam: 'N' };
    const labels = ClassLabels.fromJson(Array.from({ length: K }, (_, i) => `class ${i}`));
    const classifier = new Classifier(model, { labels, preprocessing: IMAGENET_PREPROCESSING }, nodeBackend);
    try {
      const x = { data: Float32Array.from(fixture.logits.flat()), dims: [N, K] };
      for (const ref of Object.values(fixture.heads)) {
        const r = await classifier.objectiveGradient(x, {
          head: ref.head,
          classes: ref.classes,
          labels: ref.head.kind === 'dlr' && ref.head.targeted ? fixture.labels : undefined,
          weights: fixture.weights,
        });
        assert.deepEqual(r.logits.data, x.data);
        const scale = Math.max(1, ...ref.loss.map(Math.abs));
        assert.ok(maxAbsDiff(r.loss, ref.loss) <= 1e-5 * scale, `${ref.head.kind}: loss ${r.loss}`);
        assert.ok(maxAbsDiff(r.grad.data, ref.grad.flat()) <= 1e-5, `${ref.head.kind}: gradient`);
      }
      const ce: ObjectiveHead = { kind: 'cross-entropy' };
      await assert.rejects(
        classifier.objectiveGradient(x, { head: ce, classes: [1, 2] }),
        /objective cross-entropy: 2 classes for 6 images/,
      );
      await assert.rejects(
        classifier.objectiveGradient(x, { head: ce, classes: [0, 1, 2, 3, 4, 10] }),
        /objective cross-entropy: class 10, expected an index from 0 to 9/,
      );
      await assert.rejects(
        classifier.objectiveGradient(x, { head: { kind: 'dlr', targeted: true }, classes: fixture.targets }),
        /objective dlr: no labels for 6 images/,
      );
      await assert.rejects(
        classifier.objectiveGradient(x, {
          head: { kind: 'cw-margin', targeted: false, kappa: -1 },
          classes: fixture.labels,
        }),
        /cw-margin: kappa -1, expected a number ≥ 0/,
      );
    } finally {
      await classifier.dispose();
    }
  });

  test('targeted DLR on fewer than 4 classes is refused at compile time, naming the head', async () => {
    const model = passThrough('float32', 3);
    const x: RuntimeTensor = { type: 'float32', dims: [N, 3], data: new Float32Array(N * 3) };
    const info = await probeTensorInfo(nodeBackend, model, { x });
    assert.throws(
      () => compileGradient(model, { objective: { head: { kind: 'dlr', targeted: true } } }, info),
      /objective head dlr \(targeted\) needs at least 4 classes, the logits have 3/,
    );
  });
});
