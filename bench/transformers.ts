import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGENET_PREPROCESSING } from '../src/image/types.js';
import { Classifier } from '../src/model/classifier.js';
import { ClassLabels } from '../src/model/labels.js';
import { decodeModel } from '../src/onnx/proto.js';
import { nodeBackend } from '../src/runtime/node.js';
import { MODERN } from '../test/support/modern.js';
import { ROOT } from '../test/support/shared.js';
import { gradientBatch, ratio, runTorchScript, timingsMs } from './harness.js';

const MODELS = ['vit_small_patch16', 'convnext_mini'];
const BATCHES = [1, 8];
const REPEAT = 7;

/**
 * Logits + input gradient of vit_small_patch16 and convnext_mini (../shared/fixtures/modern) at N=1 and N=8 vs
 * PyTorch running the same architectures (bench/torch_transformers.py), interleaved: each configuration is timed
 * in netvis, then in PyTorch, before the next one. The first call (compiling the gradient graph and opening its
 * session) is timed apart.
 */
export async function run(): Promise<Record<string, unknown>> {
  const labels = ClassLabels.fromJson(Array.from({ length: 1000 }, (_, i) => `class ${i}`));
  const ours: Record<string, number> = {};
  const torch: Record<string, number | string> = {};
  for (const name of MODELS) {
    const model = decodeModel(readFileSync(join(MODERN, `${name}.onnx`)), name);
    const classifier = new Classifier(
      model,
      { labels, preprocessing: IMAGENET_PREPROCESSING },
      nodeBackend,
      name,
    );
    for (const n of BATCHES) {
      const { x, seed } = gradientBatch(n);
      const key = `${name}_input_gradient_n${n}`;
      const t0 = performance.now();
      await classifier.inputGradient(x, seed);
      ours[`${key}_first_call_ms`] = Math.round(performance.now() - t0);
      const { median, min } = await timingsMs(() => classifier.inputGradient(x, seed), REPEAT);
      ours[`${key}_ms`] = median;
      ours[`${key}_min_ms`] = min;
      const t = runTorchScript(join(ROOT, 'bench', 'torch_transformers.py'), [
        '--model',
        name,
        '--batch',
        String(n),
        '--repeat',
        String(REPEAT),
      ]);
      if (t) {
        torch.engine = t.engine;
        torch[`${key}_ms`] = t.median_ms;
        torch[`${key}_min_ms`] = t.min_ms;
      }
    }
    await classifier.dispose();
  }
  const installed = Object.keys(torch).length > 0;
  // Each side's fastest run: on a shared machine the minimum is the measurement least disturbed by other load.
  const goal = (name: string) =>
    ratio(ours[`${name}_input_gradient_n8_min_ms`], torch[`${name}_input_gradient_n8_min_ms`]);
  return {
    netvis: ours,
    torch: installed ? torch : 'not installed',
    ratio_netvis_over_torch: Object.fromEntries(
      Object.keys(torch)
        .filter((k) => k.endsWith('_ms'))
        .map((k) => [k, ratio(ours[k], torch[k])]),
    ),
    goals: Object.fromEntries(MODELS.map((m) => [`${m} input_gradient_n8 <= 0.8x (fastest run)`, goal(m)])),
  };
}
