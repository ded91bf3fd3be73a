import { join } from 'node:path';
import { pgd } from '../src/methods/adversarial/pgd.js';
import { visualizeFeatures } from '../src/methods/featureviz/feature-visualization.js';
import { channelMean } from '../src/methods/featureviz/objectives.js';
import { loadClassifier } from '../src/model/load.js';
import { sliceBatch } from '../src/tensor.js';
import { readNpy } from '../test/support/npy.js';
import { REFERENCE } from '../test/support/shared.js';
import { compare, type Comparison } from './harness.js';
import { goal, type SuiteContext } from './suite.js';

/** PGD-L∞ (10 steps, 8 reference images) and Fourier feature visualization (256 steps) vs the same loops in PyTorch. */
export async function run(ctx: SuiteContext): Promise<Record<string, unknown>> {
  const torch = await ctx.torch();
  const classifier = await loadClassifier();
  const images = sliceBatch(readNpy(join(REFERENCE, 'inputs.npy')), 0, 8);
  const workloads: Record<string, Comparison> = {};
  try {
    workloads.pgd_linf_10_steps_n8 = await compare(
      'adversarial: PGD-L∞, 10 steps × 8 images',
      () => pgd(classifier, images, { eps: 8, steps: 10 }),
      torch,
      { run: 'pgd_linf', n: 8, steps: 10 },
      3,
    );
    workloads.featureviz_fft_256_steps = await compare(
      'adversarial: feature visualization (Fourier), 256 steps',
      () => visualizeFeatures(classifier, channelMean('features.9', 12), { iterations: 256 }),
      torch,
      { run: 'featureviz', steps: 256 },
      1,
    );
  } finally {
    await classifier.dispose();
  }
  return {
    workloads,
    goals: {
      'pgd_linf_10_steps_n8 <= 0.7x': goal(workloads.pgd_linf_10_steps_n8.ratio, 0.7),
      'featureviz_fft_256_steps <= 0.5x': goal(workloads.featureviz_fft_256_steps.ratio, 0.5),
    },
  };
}
