import { join } from 'node:path';
import { pgd } from '../src/methods/adversarial/pgd.js';
import { visualizeFeatures } from '../src/methods/featureviz/feature-visualization.js';
import { channelMean } from '../src/methods/featureviz/objectives.js';
import { loadClassifier } from '../src/model/load.js';
import { sliceBatch } from '../src/tensor.js';
import { readNpy } from '../test/support/npy.js';
import { REFERENCE, ROOT } from '../test/support/shared.js';
import { medianMs, ratios, runTorchScript } from './harness.js';

/** PGD-L∞ (10 steps, 8 reference images) and Fourier feature visualization (256 steps) vs the same loops in PyTorch. */
export async function run(): Promise<Record<string, unknown>> {
  const classifier = await loadClassifier();
  const images = sliceBatch(readNpy(join(REFERENCE, 'inputs.npy')), 0, 8);
  const ours: Record<string, number> = {};
  ours.pgd_linf_10_steps_n8_ms = await medianMs(() => pgd(classifier, images, { eps: 8, steps: 10 }), 3);
  ours.featureviz_fft_256_steps_ms = await medianMs(
    () => visualizeFeatures(classifier, channelMean('features.9', 12), { iterations: 256 }),
    1,
  );
  await classifier.dispose();
  const torch = runTorchScript(join(ROOT, 'bench', 'torch_adversarial.py'), ['--repeat', '3']);
  const byKey = ratios(ours, torch);
  return {
    netvis: ours,
    torch: torch ?? 'not installed',
    ratio_netvis_over_torch: byKey,
    goals: {
      'pgd_linf_10_steps_n8 <= 0.5x': byKey.pgd_linf_10_steps_n8_ms,
      'featureviz_fft_256_steps <= 0.5x': byKey.featureviz_fft_256_steps_ms,
    },
  };
}
