import { join } from 'node:path';
import { integratedGradients } from '../src/methods/attribution/integrated-gradients.js';
import { smoothGrad } from '../src/methods/attribution/smoothgrad.js';
import { loadClassifier } from '../src/model/load.js';
import { sliceBatch } from '../src/tensor.js';
import { readNpy } from '../test/support/npy.js';
import { REFERENCE } from '../test/support/shared.js';
import { compare, ratio, type Comparison } from './harness.js';
import { goal, type SuiteContext } from './suite.js';

const REPEAT = 5;

/**
 * SmoothGrad (25 samples) and Integrated Gradients (50 points) on one 224×224 image vs PyTorch doing the same, each
 * in batches of 1, 5 and all at once; the goals compare each engine at its best batching.
 */
export async function run(ctx: SuiteContext): Promise<Record<string, unknown>> {
  const torch = await ctx.torch();
  const classifier = await loadClassifier();
  const x = sliceBatch(readNpy(join(REFERENCE, 'inputs.npy')), 0);
  const workloads: Record<string, Comparison> = {};
  const methods = [
    [
      'smoothgrad_25',
      'smoothgrad',
      25,
      (batchSize: number) => smoothGrad(classifier, x, undefined, { batchSize }),
    ],
    [
      'integrated_gradients_50',
      'integrated_gradients',
      50,
      (batchSize: number) => integratedGradients(classifier, x, undefined, { batchSize }),
    ],
  ] as const;
  try {
    for (const [name, run, points, fn] of methods)
      for (const batch of [1, 5, points])
        workloads[`${name}_batch${batch}`] = await compare(
          `attribution: ${name}, batches of ${batch}`,
          () => fn(batch),
          torch,
          { run, batch },
          REPEAT,
        );
  } finally {
    await classifier.dispose();
  }
  // Each engine at its best batching (medians).
  const best = (prefix: string, side: 'netvis' | 'torch') =>
    Math.min(
      ...Object.entries(workloads).flatMap(([k, c]) =>
        k.startsWith(prefix) && c[side] ? [c[side].median] : [],
      ),
    );
  const bestRatio = (prefix: string) =>
    torch ? ratio(best(prefix, 'netvis'), best(prefix, 'torch')) : undefined;
  return {
    workloads,
    goals: {
      'smoothgrad_25 <= 0.8x (best batching each)': goal(bestRatio('smoothgrad_25'), 0.8),
      'integrated_gradients_50 <= 0.8x (best batching each)': goal(bestRatio('integrated_gradients_50'), 0.8),
    },
  };
}
