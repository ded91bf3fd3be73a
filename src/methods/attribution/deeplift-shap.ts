import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { deepLiftPairs } from './deeplift.js';
import { blackAndWhite } from './gradient-shap.js';
import { resolveTargets, type AttributionOptions, type AttributionResult, type Target } from './support.js';

/** DeepLiftSHAP's options. */
export interface DeepLiftShapOptions extends AttributionOptions {
  /** The reference distribution: K×3×H×W images in the model's normalised units; default a black and a white image. */
  baselines?: Tensor;
}

/** DeepLiftSHAP attributions and what they add up to. */
export interface DeepLiftShapResult extends AttributionResult {
  /** Per image: the mean over the references b of f(x) − f(b), which Σ attributions equals up to float error. */
  expectedDeltas: number[];
}

/**
 * DeepLiftSHAP (Lundberg & Lee 2017) as Captum's `DeepLiftShap`: DeepLIFT's attributions (`deepLift`, rescale rule)
 * of each image against every reference in `baselines` (default black and white), averaged, N×3×H×W, signed; Σ
 * attributions = mean_b f(x) − f(b) (`expectedDeltas`). `target` defaults to the predicted class; (image, reference)
 * pairs run in batches of `batchSize` (default 8), each run holding the images and their references.
 */
export async function deepLiftShap(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { baselines, batchSize = 8, ...opts }: DeepLiftShapOptions = {},
): Promise<DeepLiftShapResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, 'deepLiftShap');
  const [n, c, h, w] = images.dims;
  const references = baselines ?? blackAndWhite(classifier, h, w);
  if (references.dims.length !== 4 || references.dims.slice(1).join() !== [c, h, w].join())
    throw new RangeError(`deepLiftShap: baselines dims [${references.dims}], expected [K, ${c}, ${h}, ${w}]`);
  const k = references.dims[0];
  const per = c * h * w;
  const total = new Float64Array(images.data.length);
  const deltas = new Array<number>(n).fill(0);
  const pairs = Array.from({ length: n * k }, (_, j) => ({ image: Math.floor(j / k), reference: j % k }));
  await deepLiftPairs(classifier, images, references, pairs, labels, batchSize, opts, (j, pair) => {
    const i = pairs[j].image;
    for (let p = 0; p < per; p++) total[i * per + p] += pair.attributions[p];
    deltas[i] += pair.score - pair.baselineScore;
  });
  const maps = Float32Array.from(total, (v) => v / k);
  return {
    maps: { data: maps, dims: [...images.dims] },
    labels,
    scores,
    expectedDeltas: deltas.map((d) => d / k),
  };
}
