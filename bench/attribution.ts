import { join } from 'node:path';
import { integratedGradients } from '../src/methods/attribution/integrated-gradients.js';
import { smoothGrad } from '../src/methods/attribution/smoothgrad.js';
import { loadClassifier } from '../src/model/load.js';
import { sliceBatch } from '../src/tensor.js';
import { readNpy } from '../test/support/npy.js';
import { REFERENCE, ROOT } from '../test/support/shared.js';
import { ratio, ratios, runTorchScript, timingsMs } from './harness.js';

const BATCHES = [1, 5];
const REPEAT = 7;

/** SmoothGrad (25 samples) and Integrated Gradients (50 points) on one 224×224 image, vs PyTorch doing the same. */
export async function run(): Promise<Record<string, unknown>> {
  const classifier = await loadClassifier();
  const x = sliceBatch(readNpy(join(REFERENCE, 'inputs.npy')), 0);
  const ours: Record<string, number> = {};
  for (const batchSize of BATCHES) {
    for (const [name, fn] of [
      ['smoothgrad_25', () => smoothGrad(classifier, x, undefined, { batchSize })],
      ['integrated_gradients_50', () => integratedGradients(classifier, x, undefined, { batchSize })],
    ] as const) {
      const { median, min } = await timingsMs(fn, REPEAT);
      ours[`${name}_batch${batchSize}_ms`] = median;
      ours[`${name}_batch${batchSize}_min_ms`] = min;
    }
  }
  await classifier.dispose();
  const torch: Record<string, number | string> = {};
  for (const batch of BATCHES) {
    const t = runTorchScript(join(ROOT, 'bench', 'torch_attribution.py'), [
      '--repeat',
      String(REPEAT),
      '--batch',
      String(batch),
    ]);
    if (!t) break;
    for (const [k, v] of Object.entries(t)) {
      if (k === 'engine') torch.engine = v;
      else if (k.includes('one_batch')) torch[k] = v;
      else if (k.endsWith('_ms')) torch[k.replace(/_(min_)?ms$/, `_batch${batch}_$1ms`)] = v;
    }
  }
  const byKey = ratios(ours, torch);
  // The goal compares each side's fastest run at its best batching: on a shared machine the minimum is the
  // measurement least disturbed by other processes (PyTorch's OpenMP threads suffer most from them).
  const best = (side: Record<string, number | string>, prefix: string) =>
    Math.min(
      ...Object.entries(side).flatMap(([k, v]) =>
        k.startsWith(prefix) && k.endsWith('min_ms') && typeof v === 'number' ? [v] : [],
      ),
    );
  const goal = (prefix: string) =>
    Object.keys(torch).length ? ratio(best(ours, prefix), best(torch, prefix)) : undefined;
  return {
    netvis: ours,
    torch: Object.keys(torch).length ? torch : 'not installed',
    ratio_netvis_over_torch: byKey,
    goals: {
      'smoothgrad_25 <= 0.5x (fastest run, best batching each)': goal('smoothgrad_25'),
      'integrated_gradients_50 <= 0.5x (fastest run, best batching each)': goal('integrated_gradients_50'),
    },
  };
}
