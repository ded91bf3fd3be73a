import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGENET_PREPROCESSING } from '../src/image/types.js';
import { Classifier } from '../src/model/classifier.js';
import { ClassLabels } from '../src/model/labels.js';
import { decodeModel } from '../src/onnx/proto.js';
import { nodeBackend } from '../src/runtime/node.js';
import { MODERN } from '../test/support/modern.js';
import { compare, gradientBatch, timeMs, type Comparison } from './harness.js';
import { goal, type SuiteContext } from './suite.js';

const MODELS = ['vit_small_patch16', 'convnext_mini'];
const BATCHES = [1, 8];
const REPEAT = 7;

/**
 * Logits + input gradient of vit_small_patch16 and convnext_mini (../shared/fixtures/modern) at N=1 and N=8 vs
 * PyTorch running the same architectures (bench/torch_workloads.py), runs alternating. The first call (compiling
 * the gradient graph and opening its session) is timed apart.
 */
export async function run(ctx: SuiteContext): Promise<Record<string, unknown>> {
  const torch = await ctx.torch();
  const labels = ClassLabels.fromJson(Array.from({ length: 1000 }, (_, i) => `class ${i}`));
  const workloads: Record<string, Comparison & { netvis_first_call_ms: number }> = {};
  for (const name of MODELS) {
    const model = decodeModel(readFileSync(join(MODERN, `${name}.onnx`)), name);
    const classifier = new Classifier(
      model,
      { labels, preprocessing: IMAGENET_PREPROCESSING },
      nodeBackend,
      name,
    );
    try {
      for (const n of BATCHES) {
        const { x, seed } = gradientBatch(n);
        const first = await timeMs(() => classifier.inputGradient(x, seed));
        const c = await compare(
          `transformers: ${name} logits + input gradient N=${n}`,
          () => classifier.inputGradient(x, seed),
          torch,
          { run: 'modern_input_gradient', model: name, n },
          REPEAT,
        );
        workloads[`${name}_input_gradient_n${n}`] = { ...c, netvis_first_call_ms: Math.round(first) };
      }
    } finally {
      await classifier.dispose();
    }
  }
  return {
    workloads,
    goals: Object.fromEntries(
      MODELS.map((m) => [
        `${m} input_gradient_n8 <= 0.8x`,
        goal(workloads[`${m}_input_gradient_n8`].ratio, 0.8),
      ]),
    ),
  };
}
