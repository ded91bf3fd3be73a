import { classVisualization } from '../src/methods/featureviz/class-visualization.js';
import { loadClassifier } from '../src/model/load.js';
import { gradientBatch, medianMs, ratios, runTorchScript, SHARED_BASELINE } from './harness.js';

/** SqueezeNet forward and logits + input gradient at N=1 and N=8, and class visualization (100 steps), vs PyTorch. */
export async function run(): Promise<Record<string, unknown>> {
  const classifier = await loadClassifier();
  const ours: Record<string, number> = {};
  for (const n of [1, 8]) {
    const { x, seed } = gradientBatch(n);
    ours[`forward_n${n}_ms`] = await medianMs(() => classifier.logits(x), 15);
    ours[`input_gradient_n${n}_ms`] = await medianMs(() => classifier.inputGradient(x, seed), 15);
  }
  ours.class_visualization_100_ms = await medianMs(() => classVisualization(classifier, 76, { seed: 0 }), 3);
  await classifier.dispose();
  const torch = runTorchScript(SHARED_BASELINE, ['--repeat', '15']);
  const byKey = ratios(ours, torch);
  return {
    netvis: ours,
    torch: torch ?? 'not installed',
    ratio_netvis_over_torch: byKey,
    goals: {
      'input_gradient_n1 <= 0.3x': byKey.input_gradient_n1_ms,
      'input_gradient_n8 <= 1x': byKey.input_gradient_n8_ms,
      'class_visualization_100 <= 0.35x': byKey.class_visualization_100_ms,
    },
  };
}
