// `netvis attribute` on a vision transformer with no layer given (run `npm run build` first: these spawn the CLI).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MODERN } from './support/modern.js';
import { IMAGES, referenceMeta, runCli } from './support/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'netvis-vit-'));
const labels = join(dir, 'labels.json');
writeFileSync(labels, JSON.stringify(Array.from({ length: 1000 }, (_, i) => `class ${i}`)));
const image = join(IMAGES, referenceMeta().images[0]);
const vit = join(MODERN, 'vit_small_patch16.onnx');
/** `netvis attribute IMAGE --model MODEL --labels (1000 names) ...args`. */
const attribute = (model: string, ...args: string[]) =>
  runCli(['attribute', image, '--model', model, '--labels', labels, ...args]);

test('attribute --method gradcam on vit_small_patch16 finds a token layer by itself and reports it', async () => {
  const run = await attribute(vit, '--method', 'gradcam', '-o', join(dir, 'cam.png'));
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /wrote .*cam\.png \(CAM layer encoder\.layers\.encoder_layer_2\.ln_1\)/);
});

test('attribute --method rollout,attention-grad --json reports the attention layers and the patch grid', async () => {
  const run = await attribute(
    vit,
    '--method',
    'rollout,attention-grad',
    '--head-fusion',
    'max',
    '--discard-ratio',
    '0.5',
    '-o',
    join(dir, 'attention.png'),
    '--json',
  );
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as {
    images: { methods: Record<string, { layers: string[]; layerSize: number[] }> }[];
  };
  for (const method of ['rollout', 'attention-grad']) {
    const d = json.images[0].methods[method];
    assert.equal(d.layers.length, 3, method);
    assert.deepEqual(d.layerSize, [14, 14], method);
  }
});

test('attention methods on a model without attention, and a bad --discard-ratio, fail in one line', async () => {
  const convnext = join(MODERN, 'convnext_mini.onnx');
  const cnn = await attribute(convnext, '--method', 'rollout', '-o', join(dir, 'none.png'));
  assert.equal(cnn.code, 1);
  assert.match(cnn.stderr, /convnext_mini\.onnx has no attention layers/);
  assert.equal(cnn.stderr.trim().split('\n').length, 1, cnn.stderr);
  const ratio = await runCli(['attribute', image, '--method', 'rollout', '--discard-ratio', '1']);
  assert.equal(ratio.code, 2);
  assert.match(ratio.stderr, /--discard-ratio must be in \[0, 1\), got '1'/);
});
