import { DECONVNET } from '../../autodiff/composite.js';
import type { Preprocessing } from '../../image/types.js';
import type { Classifier } from '../../model/classifier.js';
import { l2Norm, type Tensor } from '../../tensor.js';
import { Random } from '../random.js';
import { Adam } from './adam.js';
import { gramDiversity } from './diversity.js';
import { objectiveLayers, objectiveSeeds, objectiveValues, type Objective } from './objectives.js';
import { imageParameterization, type ParameterizationName } from './parameterization.js';
import { applyRegularizers, type RegularizerWeights } from './regularizers.js';
import {
  IDENTITY_AFFINE,
  randomAffine,
  STANDARD_TRANSFORMS,
  Warp,
  type TransformOptions,
} from './transforms.js';

/** Options of feature visualization, with Lucid's defaults (`render_vis` with `param.image`). */
export interface FeatureVisualizationOptions extends RegularizerWeights {
  /** `fft` (Lucid's 1/f-scaled Fourier parameterization) or `pixel`. Default `fft`. */
  param?: ParameterizationName;
  /** Optimise in Lucid's decorrelated colour space. Default true. */
  decorrelate?: boolean;
  /** Adam steps. Default 256. */
  iterations?: number;
  /** Adam's step size on the parameters. Default 0.05 (Lucid). */
  learningRate?: number;
  /** Image side in pixels. Default: the classifier's crop size (224). */
  size?: number;
  /** Random transformations per step, or false for none. Default STANDARD_TRANSFORMS (Lucid's). */
  transforms?: TransformOptions | false;
  /** Subtract `weight ·` Lucid's Gram-matrix diversity of this layer over the batch (needs 2+ images). Default none. */
  diversity?: { layer: string; weight: number };
  /** Seed of the initial parameters and the transformations. Default 0. */
  seed?: number;
  /** Called after each step with the 1-based step and each image's objective (of its transformed view). */
  onStep?: (iteration: number, objective: number[]) => void;
  signal?: AbortSignal;
}

/** Visualizations and the objective values a user compares. */
export interface FeatureVisualizationResult {
  /** N×3×S×S, normalised like the classifier's input. */
  images: Tensor;
  /** Each image's objective on the starting image and on the result, untransformed. */
  initialObjective: number[];
  finalObjective: number[];
  /** Per step, each image's objective on its transformed view. */
  history: number[][];
  /** Lucid's diversity of the results on the diversity layer (lower is more diverse), when asked for. */
  diversity?: number;
}

// Steps during which an image whose objective has no gradient is moved by the deconvnet ReLU rule instead.
const REDIRECT_STEPS = 16;

// (rgb − mean) / std, per channel, for N×3×H×W values in [0, 1].
function normalise(rgb: Float32Array, plane: number, p: Preprocessing): Float32Array {
  const out = new Float32Array(rgb.length);
  for (let start = 0, c = 0; start < rgb.length; start += plane, c = (c + 1) % 3) {
    const [mean, std] = [p.mean[c], p.std[c]];
    for (let i = start; i < start + plane; i++) out[i] = (rgb[i] - mean) / std;
  }
  return out;
}

// A zero seed on the logits: a pass that only reads activations.
function noSeed(classifier: Classifier, n: number): Record<string, Tensor> {
  const k = classifier.numClasses;
  return { [classifier.outputName]: { data: new Float32Array(n * k), dims: [n, k] } };
}

// Lucid's diversity of a batch on a layer and its gradient there: a forward pass and the backward pass's tail
// (only to the layer) that expose the layer's activations.
async function diversityOf(classifier: Classifier, x: Tensor, layer: string) {
  const r = await classifier.gradients(x, {
    seeds: noSeed(classifier, x.dims[0]),
    wrt: [layer],
    expose: [layer],
  });
  return gramDiversity(r.outputs[layer]);
}

/** C×H×W of each layer (module path or tensor name) for a 1×3×size×size input, read by one pass that exposes them. */
export async function layerShapes(
  classifier: Classifier,
  layers: string[],
  size: number,
): Promise<Map<string, number[]>> {
  if (layers.length === 0) return new Map();
  const r = await classifier.gradients(
    { data: new Float32Array(3 * size * size), dims: [1, 3, size, size] },
    {
      seeds: noSeed(classifier, 1),
      wrt: [layers[0]],
      expose: layers,
    },
  );
  return new Map(layers.map((l) => [l, r.outputs[l].dims.slice(1)]));
}

/**
 * Feature visualization (Olah et al. 2017, Lucid): Adam ascent of each image's objective through an image
 * parameterization (Fourier with decorrelated colours by default), under random jitter, scale and rotation, with
 * optional penalties and a diversity term across the batch. One objective per image.
 */
export async function visualizeFeatures(
  classifier: Classifier,
  objectives: Objective | readonly Objective[],
  options: FeatureVisualizationOptions = {},
): Promise<FeatureVisualizationResult> {
  const list = Array.isArray(objectives) ? (objectives as Objective[]) : [objectives as Objective];
  const {
    param = 'fft',
    decorrelate = true,
    iterations = 256,
    learningRate = 0.05,
    size = classifier.preprocessing.crop,
    transforms = STANDARD_TRANSFORMS,
    diversity,
    seed = 0,
    onStep,
    signal,
  } = options;
  const n = list.length;
  if (n === 0) throw new Error('featureviz: no objectives');
  if (list.some((o) => o.terms.length === 0)) throw new Error('featureviz: an objective has no terms');
  if (diversity && n < 2) throw new Error('featureviz: diversity needs a batch of at least 2 images');
  const layers = objectiveLayers(list);
  const dims = await layerShapes(
    classifier,
    diversity ? [...new Set([...layers, diversity.layer])] : layers,
    size,
  );
  const seeds = objectiveSeeds(classifier, list, dims);
  const parameterization = imageParameterization(param, { batch: n, size, decorrelate, seed });
  const adam = new Adam(parameterization.params.length, learningRate);
  const rng = new Random(seed + 1);
  const plane = size * size;
  const per = 3 * plane;
  const p = classifier.preprocessing;
  const pad = transforms ? (transforms.pad ?? STANDARD_TRANSFORMS.pad) : 0;

  const evaluate = async (rgb: Float32Array) => {
    const x = { data: normalise(rgb, plane, p), dims: [n, 3, size, size] };
    const r = await classifier.gradients(x, { seeds, expose: layers });
    return objectiveValues(seeds, r.outputs);
  };
  const initialObjective = await evaluate(parameterization.render());
  const history: number[][] = [];
  for (let t = 1; t <= iterations; t++) {
    signal?.throwIfAborted();
    const rgb = parameterization.render();
    const warps = list.map(
      () => new Warp(size, transforms ? randomAffine(rng, transforms) : IDENTITY_AFFINE, pad),
    );
    const view = new Float32Array(rgb.length);
    warps.forEach((w, i) => w.apply(rgb, i * per, view, i * per));
    const x = { data: normalise(view, plane, p), dims: [n, 3, size, size] };
    let stepSeeds = seeds;
    if (diversity) {
      // The diversity gradient depends on this step's activations, so they are read first; then the layer is
      // seeded with the objective's seed minus weight · ∂D/∂A.
      const { grad } = await diversityOf(classifier, x, diversity.layer);
      const base = seeds[diversity.layer]?.data;
      const data = new Float32Array(grad.length);
      for (let i = 0; i < data.length; i++) data[i] = (base ? base[i] : 0) - diversity.weight * grad[i];
      stepSeeds = { ...seeds, [diversity.layer]: { data, dims: [n, ...dims.get(diversity.layer)!] } };
    }
    const r = await classifier.gradients(x, { seeds: stepSeeds, expose: layers });
    history.push(objectiveValues(seeds, r.outputs));
    const gx = r.grads[classifier.inputName].data;
    const dead = list.flatMap((_, i) =>
      t <= REDIRECT_STEPS && l2Norm(gx.subarray(i * per, (i + 1) * per)) === 0 ? [i] : [],
    );
    if (dead.length > 0) {
      // Every ReLU on the way is inactive for these images, so the gradient is 0 and Adam would never move them.
      // Like Lucid's redirected ReLU over the first 16 steps, let positive gradients through inactive ReLUs.
      const redirected = await classifier.gradients(x, { seeds: stepSeeds, composite: DECONVNET });
      const gr = redirected.grads[classifier.inputName].data;
      for (const i of dead) gx.set(gr.subarray(i * per, (i + 1) * per), i * per);
    }
    // ∂/∂view = ∂/∂x / std, then back through the warp to the image.
    for (let start = 0, c = 0; start < gx.length; start += plane, c = (c + 1) % 3)
      for (let i = start; i < start + plane; i++) gx[i] /= p.std[c];
    const gRgb = new Float32Array(rgb.length);
    warps.forEach((w, i) => w.adjoint(gx, i * per, gRgb, i * per));
    applyRegularizers(rgb, gRgb, n, size, options);
    adam.step(parameterization.params, parameterization.backward(gRgb), true);
    onStep?.(t, history[t - 1]);
  }
  const rgb = parameterization.render();
  const finalObjective = await evaluate(rgb);
  const x = { data: normalise(rgb, plane, p), dims: [n, 3, size, size] };
  const finalDiversity = diversity && (await diversityOf(classifier, x, diversity.layer)).value;
  return {
    images: x,
    initialObjective,
    finalObjective,
    history,
    diversity: finalDiversity,
  };
}
