import { classVisualization } from '../src/methods/featureviz/class-visualization.js';
import { loadClassifier } from '../src/model/load.js';
import { compare, gradientBatch, type Comparison } from './harness.js';
import { goal, type SuiteContext } from './suite.js';

/** SqueezeNet forward and logits + input gradient at N=1 and N=8, and class visualization (100 steps), vs PyTorch. */
export async function run(ctx: SuiteContext): Promise<Record<string, unknown>> {
  const torch = await ctx.torch();
  const classifier = await loadClassifier();
  const workloads: Record<string, Comparison> = {};
  try {
    for (const n of [1, 8]) {
      const { x, seed } = gradientBatch(n);
      workloads[`forward_n${n}`] = await compare(
        `engine: forward N=${n}`,
        () => classifier.logits(x),
        torch,
        { run: 'forward', n },
        15,
      );
      workloads[`input_gradient_n${n}`] = await compare(
        `engine: logits + input gradient N=${n}`,
        () => classifier.inputGradient(x, seed),
        torch,
        { run: 'input_gradient', n },
        15,
      );
    }
    workloads.class_visualization_100 = await compare(
      'engine: class visualization, 100 steps',
      () => classVisualization(classifier, 76, { seed: 0 }),
      torch,
      { run: 'class_visualization', steps: 100 },
      3,
    );
  } finally {
    await classifier.dispose();
  }
  return {
    workloads,
    goals: {
      'input_gradient_n1 <= 0.6x': goal(workloads.input_gradient_n1.ratio, 0.6),
      'input_gradient_n8 <= 0.8x': goal(workloads.input_gradient_n8.ratio, 0.8),
      'class_visualization_100 <= 0.3x': goal(workloads.class_visualization_100.ratio, 0.3),
    },
  };
}
