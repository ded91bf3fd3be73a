import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeFoolingImages } from '../src/methods/adversarial/fooling.js';
import { argmaxRows } from '../src/methods/common.js';
import { classVisualization } from '../src/methods/featureviz/class-visualization.js';
import type { Classifier } from '../src/model/classifier.js';
import { loadClassifier } from '../src/model/load.js';
import { deprocess, validRange } from '../src/image/preprocess.js';
import { renderClassVisualization } from '../src/cli/classviz.js';
import { readNpy } from './support/npy.js';
import { median, REFERENCE, ROOT } from './support/shared.js';

let classifier: Classifier;

before(async () => {
  classifier = await loadClassifier();
});
after(() => classifier.dispose());

// The CS231n fooling run in PyTorch float32 and float64 on this machine (scripts/fooling-float64.py).
interface FoolingRun {
  steps: number;
  fooled: boolean;
  l2: number;
}
const fooling = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'fooling64.json'), 'utf8')) as {
  float32: FoolingRun[];
  float64: FoolingRun[];
};

test('fooling images (target stingray) against PyTorch float64: successes within 1, median steps within 2, L2 as close as float32 gets', async () => {
  const inputs = readNpy(join(REFERENCE, 'inputs.npy'));
  const results = await makeFoolingImages(classifier, inputs, new Array<number>(25).fill(6));
  const truth = fooling.float64;
  const successes = results.filter((r) => r.success);
  // Each run is a race between similar classes that rounding can tip (the hatchet: stingray vs tiger shark; PyTorch
  // float32 takes 37 to 45 steps there depending on the machine, float64 35), so counts are held within one image
  // and two steps of the float64 run.
  const truthSuccesses = truth.filter((f) => f.fooled).length;
  assert.ok(
    Math.abs(successes.length - truthSuccesses) <= 1,
    `${successes.length} successes, float64 ${truthSuccesses}`,
  );
  const ours = median(results.map((r) => r.iterations));
  const theirs = median(truth.map((f) => f.steps));
  assert.ok(Math.abs(ours - theirs) <= 2, `median steps ${ours}, float64 ${theirs}`);
  // Where the step counts agree, the change's L2 (normalised units) within twice float32's own relative distance
  // from float64 where those agree (2.0 %, the sunglasses).
  const float32Off = Math.max(
    ...fooling.float32.flatMap((f, i) =>
      f.steps === truth[i].steps ? [Math.abs(f.l2 - truth[i].l2) / truth[i].l2] : [],
    ),
  );
  for (const [i, r] of results.entries()) {
    if (r.iterations === truth[i].steps)
      assert.ok(
        Math.abs(r.l2 - truth[i].l2) <= 2 * float32Off * truth[i].l2,
        `image ${i}: L2 ${r.l2}, float64 ${truth[i].l2}`,
      );
  }
  // PyTorch's own successes reach L∞ 0.58 in normalised units (meta.json), so the bound of 0.3 is checked
  // in [0, 1] pixel units.
  for (const r of successes) {
    assert.ok(r.linfPixels / 255 < 0.3, `L∞ ${r.linfPixels / 255} in [0, 1] units`);
    assert.equal(r.predicted, 6);
    assert.equal(argmaxRows(await classifier.logits(r.image))[0], 6);
  }
  for (const [i, r] of results.entries()) assert.ok(r.iterations <= 100, `image ${i}: ${r.iterations} steps`);
});

test('class visualization (seed 0, CS231n defaults) ends with the target as top-1 for at least 2 of 76, 546, 366', async () => {
  const ranges = validRange(classifier.preprocessing);
  let hits = 0;
  for (const target of [76, 546, 366]) {
    const r = await classVisualization(classifier, target, { seed: 0 });
    assert.deepEqual(
      r.frames.map((f) => f.iteration),
      [1, 25, 50, 75, 100],
    );
    assert.equal(r.scores.length, 100);
    const plane = 224 * 224;
    for (let c = 0; c < 3; c++) {
      const channel = r.image.data.subarray(c * plane, (c + 1) * plane);
      assert.ok(Math.min(...channel) >= ranges[c][0] - 1e-5 && Math.max(...channel) <= ranges[c][1] + 1e-5);
    }
    if (argmaxRows(await classifier.logits(r.image))[0] === target) hits++;
  }
  assert.ok(hits >= 2, `${hits} of 3 targets reached top-1`);
});

test('class visualization is reproducible for a seed and differs across seeds', async () => {
  const a = await classVisualization(classifier, 76, { iterations: 3, seed: 1 });
  const b = await classVisualization(classifier, 76, { iterations: 3, seed: 1 });
  const c = await classVisualization(classifier, 76, { iterations: 3, seed: 2 });
  assert.deepEqual(a.image.data, b.image.data);
  assert.notDeepEqual(a.image.data, c.image.data);
});

test("a GIF's frames: every step up to maxFrames, beyond that every k-th step and the last", async () => {
  const all = await renderClassVisualization(classifier, 76, {
    iterations: 4,
    seed: 1,
    keepAllFrames: true,
    maxFrames: 4,
  });
  assert.equal(all.allFrames.length, 4);
  // 10 steps, at most 4 frames: every ⌈10 / 4⌉ = 3rd step (3, 6, 9) and the last (10).
  const seen = new Map<number, Uint8Array | Uint8ClampedArray>();
  const some = await renderClassVisualization(classifier, 76, {
    iterations: 10,
    seed: 1,
    keepAllFrames: true,
    maxFrames: 4,
    onStep: (t, image) => seen.set(t, deprocess(image)[0].data),
  });
  assert.deepEqual(
    some.allFrames.map((f) => f.data),
    [3, 6, 9, 10].map((t) => seen.get(t)),
  );
});

test('an AbortSignal stops class visualization and fooling', async () => {
  const controller = new AbortController();
  await assert.rejects(
    classVisualization(classifier, 76, {
      signal: controller.signal,
      onStep: (t) => t === 3 && controller.abort(new DOMException('stop', 'AbortError')),
    }),
    { name: 'AbortError' },
  );
  const inputs = readNpy(join(REFERENCE, 'inputs.npy'));
  const one = { data: inputs.data.slice(0, 3 * 224 * 224), dims: [1, 3, 224, 224] };
  const stop = new AbortController();
  stop.abort(new DOMException('stop', 'AbortError'));
  await assert.rejects(makeFoolingImages(classifier, one, [6], { signal: stop.signal }), {
    name: 'AbortError',
  });
});

test('no session or buffer leak: 200 class-visualization steps keep RSS within 50 MB of step 20', async () => {
  let atStep20 = 0;
  let peakAfter = 0;
  await classVisualization(classifier, 76, {
    iterations: 200,
    onStep: (t) => {
      if (t === 20) {
        global.gc?.();
        atStep20 = process.memoryUsage().rss;
      }
      if (t > 20) peakAfter = Math.max(peakAfter, process.memoryUsage().rss);
    },
  });
  const growthMb = (peakAfter - atStep20) / 2 ** 20;
  assert.ok(growthMb < 50, `RSS grew ${growthMb.toFixed(1)} MB after step 20`);
});
