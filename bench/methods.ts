import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kernelShap } from '../src/methods/attribution/kernel-shap.js';
import { lrp } from '../src/methods/attribution/lrp.js';
import { rise } from '../src/methods/attribution/rise.js';
import { scoreCam } from '../src/methods/attribution/scorecam.js';
import { loadClassifier } from '../src/model/load.js';
import { sliceBatch } from '../src/tensor.js';
import { readNpy } from '../test/support/npy.js';
import { REFERENCE, ROOT } from '../test/support/shared.js';
import { ratio, torchPython } from './harness.js';

const REPEAT = 3;
const LABEL = 36; // the first shared input's true label (../shared/reference/peers/info.json)
// The peers' source trees (../shared/peers/README.md); NETVIS_PEERS overrides.
const PEERS = process.env.NETVIS_PEERS ?? join(ROOT, '..', 'peers');
const PYTHONPATH = ['captum', 'gradcam', 'ttach', 'zennit/src'].map((p) => join(PEERS, p)).join(':');

/** One peer run of `method` on the first shared input (bench/peer_methods.py), in ms; undefined without PyTorch/peers. */
function peerMs(method: string): number | undefined {
  const py = torchPython();
  if (!py || !existsSync(join(PEERS, 'captum'))) return undefined;
  const out = execFileSync(py, [join(ROOT, 'bench', 'peer_methods.py'), '--method', method], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH },
    maxBuffer: 1 << 24,
  });
  return (JSON.parse(out.trim().split('\n').pop()!) as { ms: number }).ms;
}

/**
 * Score-CAM (pytorch-grad-cam), KernelSHAP with 500 samples (Captum), RISE with 4000 masks (a PyTorch loop) and LRP
 * EpsilonPlusFlat (Zennit) on one 224×224 image, netvis's run and the peer's alternating, `REPEAT` times each: per
 * image, median and fastest.
 */
export async function run(): Promise<Record<string, unknown>> {
  const classifier = await loadClassifier();
  const x = sliceBatch(readNpy(join(REFERENCE, 'inputs.npy')), 0);
  const superpixels = readNpy(join(REFERENCE, 'peers', 'superpixels.npy'));
  const featureMask = { data: superpixels.data.slice(0, 224 * 224), dims: [1, 224, 224] };
  const workloads: [string, string, () => Promise<unknown>][] = [
    ['scorecam', 'scorecam', () => scoreCam(classifier, x, LABEL)],
    ['kernel_shap_500', 'kernelshap', () => kernelShap(classifier, x, LABEL, { featureMask })],
    ['rise_4000', 'rise', () => rise(classifier, x, LABEL)],
    ['lrp_epsilon_plus_flat', 'lrp', () => lrp(classifier, x, LABEL)],
  ];
  const stats = (ts: number[]) => {
    const s = [...ts].sort((a, b) => a - b);
    return { median: Math.round(s[Math.floor(s.length / 2)]), min: Math.round(s[0]) };
  };
  const results: Record<string, unknown> = {};
  const goals: Record<string, number | undefined> = {};
  for (const [name, peer, fn] of workloads) {
    await fn(); // warm-up: sessions compiled, caches filled
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < REPEAT; r++) {
      const t0 = performance.now();
      await fn();
      ours.push(performance.now() - t0);
      const t = peerMs(peer);
      if (t !== undefined) theirs.push(t);
    }
    const o = stats(ours);
    const p = theirs.length ? stats(theirs) : undefined;
    results[name] = { netvis_ms: o, peer_ms: p ?? 'peers or PyTorch not installed' };
    goals[`${name} <= 0.5x the peer (fastest run each)`] = p ? ratio(o.min, p.min) : undefined;
  }
  await classifier.dispose();
  return { ...results, goals };
}
