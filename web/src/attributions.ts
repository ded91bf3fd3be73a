// The library's attribution methods as the page offers them (from the method registry): one H×W map per image and
// class, reduced from the method's N×3×H×W output as `netvis attribute` draws it (channels summed, of absolute values
// unless signed).
import {
  methodsInGridOrder,
  type AttributionMethodEntry,
  type MethodSettings,
} from '../../src/methods/attribution/registry.js';
import { channelSum, type AttributionOptions } from '../../src/methods/attribution/support.js';
import type { Classifier } from '../../src/model/classifier.js';
import type { Tensor } from '../../src/tensor.js';
import type { MethodInfo } from './protocol.js';

type Progress = Pick<AttributionOptions, 'onStep' | 'signal'>;

export interface AttributionMethod extends MethodInfo {
  entry: AttributionMethodEntry;
}

// One image at a time: gradient graphs compile per batch shape, and compiling costs more in the page than batching
// saves. Methods that run only forward passes need no compiling and keep their own batch sizes. The heaviest run
// fewer samples than on the command line, so that a map arrives in seconds rather than minutes on WASM (the page shows
// their progress, and the description says so).
const ONE: MethodSettings = { batchSize: 1 };
const PAGE_SETTINGS: Record<string, MethodSettings> = {
  occlusion: {},
  scorecam: {},
  ablationcam: {},
  'kernel-shap': { samples: 200 },
  lime: { samples: 200 },
  rise: { masks: 1000 },
};
const PAGE_NOTES: Record<string, string> = {
  'kernel-shap': ' Here 200 samples (500 in netvis attribute).',
  lime: ' Here 200 samples (500 in netvis attribute).',
  rise: ' Here 1000 masks (4000 in netvis attribute).',
};

// One-gradient methods first, then those that run many inputs: side by side, maps arrive in this order, the quick ones
// first. Methods registered later and not named here follow, in the registry's grid order.
const PAGE_ORDER = [
  'saliency',
  'input-x-gradient',
  'guided-backprop',
  'deconvnet',
  'gradcam',
  'gradcam++',
  'guided-gradcam',
  'layercam',
  'xgradcam',
  'hirescam',
  'eigencam',
  'eigengradcam',
  'fullgrad',
  'smoothgrad',
  'vargrad',
  'ig',
  'gradient-shap',
  'occlusion',
  'ablationcam',
  'scorecam',
  'kernel-shap',
  'lime',
  'rise',
];

const rank = (name: string) => {
  const i = PAGE_ORDER.indexOf(name);
  return i < 0 ? PAGE_ORDER.length : i;
};

export const ATTRIBUTION_METHODS: readonly AttributionMethod[] = methodsInGridOrder()
  .sort((a, b) => rank(a.name) - rank(b.name))
  .map((entry) => ({
    id: entry.name,
    label: entry.title,
    description: `${entry.paper}: ${entry.description}${PAGE_NOTES[entry.name] ?? ''}`,
    signed: entry.display.sign === 'all',
    entry,
  }));

/** A method's map for one image as H×W: channels summed (of absolute values, unless the method is signed). */
export async function attributionMap(
  method: AttributionMethod,
  classifier: Classifier,
  x: Tensor,
  label: number,
  progress: Progress,
): Promise<Float32Array> {
  const settings = { ...(PAGE_SETTINGS[method.id] ?? ONE), ...progress };
  const { maps } = await method.entry.run(classifier, x, [label], settings);
  return channelSum(maps, !method.signed).data;
}
