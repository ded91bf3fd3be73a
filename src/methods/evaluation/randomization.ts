import { Classifier } from '../../model/classifier.js';
import { cloneModel, type onnx } from '../../onnx/proto.js';
import { decodeTensor, encodeTensor } from '../../onnx/tensor-proto.js';
import type { Tensor } from '../../tensor.js';
import { Random } from '../random.js';
import { resolveTargets, type Target } from '../attribution/support.js';
import { spearmanCorrelation } from './support.js';
import type { Explainer } from './types.js';

/** Options of the model-randomization check. */
export interface RandomizationOptions {
  /** Class to explain (index, wnid or name; one, or one per image); default: the original model's prediction. */
  target?: Target;
  /** How many layers to randomise, from the top; default all. */
  layers?: number;
  /** Spearman correlation at or above which a map counts as unchanged; default 0.8. */
  threshold?: number;
  /** Seed of the new weights; default 0. */
  seed?: number;
  /** The original model's maps, when already computed (N×H×W or N×3×H×W); default: `explain`'s. */
  maps?: Tensor;
  /** Called after each layer with its name, the layers done and the total. */
  onLayer?: (layer: string, done: number, total: number) => void;
  signal?: AbortSignal;
}

/** How the maps changed as the model was randomised from the top. */
export interface RandomizationResult {
  labels: number[];
  /** One entry per cascade step: the layer randomised at that step (and all above it stay random), and per image the Spearman rank correlation of |original map| and |randomised map|. */
  steps: { layer: string; correlations: number[] }[];
  /** Per image: the map is still correlated at or above the threshold after the last step: it does not depend on the weights randomised. */
  flagged: boolean[];
}

// Operators whose weight initializers are a layer's parameters.
const WEIGHTED = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/**
 * The model's weighted layers from the output down: each named by the module that holds it (`features.12` for
 * `/features/features.12/expand3x3/Conv`), with the float initializers of its nodes: weights, and biases (a Conv's or
 * Gemm's third input).
 */
export function weightedLayers(
  model: onnx.ModelProto,
): { layer: string; weights: string[]; biases: string[] }[] {
  const inits = new Map(model.graph.initializer.map((t) => [t.name, t]));
  const layers = new Map<string, { last: number; weights: Set<string>; biases: Set<string> }>();
  model.graph.node.forEach((node, index) => {
    if (!WEIGHTED.has(node.opType)) return;
    const params = node.input
      .map((name, slot) => ({ name, slot }))
      .filter((p) => inits.get(p.name)?.dataType === 1);
    if (params.length === 0) return;
    const scopes = node.name.split('/').filter(Boolean).slice(0, -1);
    const layer = scopes[1] ?? scopes[0] ?? node.name;
    const entry = layers.get(layer) ?? { last: index, weights: new Set<string>(), biases: new Set<string>() };
    entry.last = Math.max(entry.last, index);
    const isBias = (slot: number) => slot === 2 && node.opType !== 'MatMul';
    for (const p of params) (isBias(p.slot) ? entry.biases : entry.weights).add(p.name);
    layers.set(layer, entry);
  });
  return [...layers]
    .sort((a, b) => b[1].last - a[1].last)
    .map(([layer, e]) => ({ layer, weights: [...e.weights], biases: [...e.biases] }));
}

/** Spearman rank correlation of two equally long arrays (Pearson correlation of their ranks); 0 if one is constant. */
export function spearman(a: Float32Array, b: Float32Array): number {
  const r = spearmanCorrelation(a, b);
  return Number.isNaN(r) ? 0 : r;
}

/**
 * Re-initialises one layer of `model` in place: weights drawn from N(0, σ²) with σ the tensor's standard deviation,
 * biases set to 0.
 */
function reinitialise(
  model: onnx.ModelProto,
  { weights, biases }: { weights: string[]; biases: string[] },
  random: Random,
): void {
  const inits = model.graph.initializer;
  for (const name of [...weights, ...biases]) {
    const at = inits.findIndex((t) => t.name === name);
    const t = decodeTensor(inits[at]);
    const fresh = new Float32Array(t.data.length);
    if (weights.includes(name)) {
      const values = t.data as Float32Array;
      let mean = 0;
      for (const v of values) mean += v;
      mean /= values.length;
      let variance = 0;
      for (const v of values) variance += (v - mean) ** 2;
      const sigma = Math.sqrt(variance / values.length);
      for (let i = 0; i < fresh.length; i++) fresh[i] = sigma * random.normal();
    }
    inits[at] = encodeTensor(name, 'float32', t.dims, fresh);
  }
}

/** A classifier like `classifier` over another model (same labels, preprocessing, input and output); `what` names it. */
export function classifierOver(classifier: Classifier, model: onnx.ModelProto, what: string): Classifier {
  return new Classifier(
    model,
    {
      labels: classifier.labels,
      preprocessing: classifier.preprocessing,
      input: classifier.inputName,
      output: classifier.outputName,
    },
    classifier.backend,
    `${classifier.source} (${what})`,
  );
}

/**
 * The classifier with every weighted layer re-initialised as `modelRandomization` does (the same weights as its last
 * step for the same seed). Dispose of it when done.
 */
export function randomisedClassifier(classifier: Classifier, seed = 0): Classifier {
  const model = cloneModel(classifier.model);
  const random = new Random(seed);
  for (const entry of weightedLayers(model)) reinitialise(model, entry, random);
  return classifierOver(classifier, model, 'randomised');
}

/** The rank correlation at or above which a map counts as not depending on the randomised weights: 0.8. */
export const RANDOMIZATION_THRESHOLD = 0.8;

/**
 * The model-randomization sanity check (Adebayo et al. 2018), cascading: re-initialises the weighted layers from the
 * top down (`layers` of them, default all), in the ONNX initializers: weights drawn from N(0, σ²) with σ the original
 * tensor's standard deviation (seeded), biases set to 0. After each layer it runs `explain` on a classifier over the
 * randomised model and reports the Spearman rank correlation of each map's absolute values with the original's (0 when
 * a map became constant). Maps still correlated at or above `threshold` (default 0.8) after the last layer are flagged:
 * they do not depend on what those layers learned.
 */
export async function modelRandomization(
  classifier: Classifier,
  images: Tensor,
  explain: Explainer,
  {
    target,
    layers,
    threshold = RANDOMIZATION_THRESHOLD,
    seed = 0,
    maps: given,
    onLayer,
    signal,
  }: RandomizationOptions = {},
): Promise<RandomizationResult> {
  const { labels } = await resolveTargets(classifier, images, target, 16, 'modelRandomization');
  const n = images.dims[0];
  const original = given ?? (await explain(classifier, images, labels));
  const plane = original.data.length / n;
  if (original.dims.length < 3 || original.dims[0] !== n)
    throw new Error(`modelRandomization: maps of dims [${original.dims}], expected N×H×W or N×3×H×W`);
  const all = weightedLayers(classifier.model);
  const count = layers ?? all.length;
  if (!(Number.isInteger(count) && count > 0 && count <= all.length))
    throw new RangeError(`modelRandomization: layers ${count}, expected 1 to ${all.length}`);
  const model = cloneModel(classifier.model);
  const random = new Random(seed);
  const abs = (t: Tensor, i: number) => t.data.slice(i * plane, (i + 1) * plane).map(Math.abs);
  const steps: RandomizationResult['steps'] = [];
  for (const entry of all.slice(0, count)) {
    signal?.throwIfAborted();
    reinitialise(model, entry, random);
    const randomised = classifierOver(classifier, cloneModel(model), `randomised down to ${entry.layer}`);
    const layer = entry.layer;
    try {
      const maps = await explain(randomised, images, labels);
      steps.push({ layer, correlations: labels.map((_, i) => spearman(abs(original, i), abs(maps, i))) });
    } finally {
      await randomised.dispose();
    }
    onLayer?.(layer, steps.length, count);
  }
  const flagged = labels.map((_, i) => steps[steps.length - 1].correlations[i] >= threshold);
  return { labels, steps, flagged };
}
