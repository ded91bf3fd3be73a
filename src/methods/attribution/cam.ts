// What Grad-CAM, Grad-CAM++ and Guided Grad-CAM share: the layer, its activations and gradients, the weighted sum.
import type { TensorInfo } from '../../autodiff/types.js';
import type { Classifier } from '../../model/classifier.js';
import { GraphView } from '../../onnx/graph.js';
import { ModelError } from '../../onnx/proto.js';
import { probeTensorInfo } from '../../runtime/probe.js';
import { sliceBatch, type Tensor } from '../../tensor.js';
import { oneHot } from '../common.js';
import {
  inBatches,
  padBatch,
  resolveTargets,
  type AttributionOptions,
  type AttributionResult,
  type Target,
} from './support.js';
import { upsampleBilinear } from './upsample.js';

/** Options of the class-activation-map methods. */
export interface CamOptions extends AttributionOptions {
  /** Layer by module path (`features.12`) or tensor name; default: the last spatial layer before the classifier (`findCamLayer`). */
  layer?: string;
}

/** Class activation maps, upsampled to the input, and the layer they come from. */
export interface CamResult extends AttributionResult {
  /** N×H×W, non-negative, bilinearly upsampled from `layerMaps`. */
  maps: Tensor;
  /** N×h×w at the layer's own resolution. */
  layerMaps: Tensor;
  /** The layer used: its module path, or its tensor name when its node has none. */
  layer: string;
}

/** How a CAM method turns a layer's activations A and gradients G (C×h×w each, one image) into C channel weights. */
export type ChannelWeights = (
  a: Float32Array,
  g: Float32Array,
  channels: number,
  plane: number,
) => Float64Array;

/** One image's layer activations A and gradients G (C×h×w each, channel-major) and what they explain. */
export interface CamContext {
  a: Float32Array;
  g: Float32Array;
  channels: number;
  /** h·w. */
  plane: number;
  height: number;
  width: number;
  /** The image's index in the batch given to `classActivationMaps`. */
  index: number;
  label: number;
  /** The layer's tensor name or module path, as resolved. */
  layer: string;
}

/**
 * A CAM method that needs more than channel weights from A and G: its h×w map before the final ReLU (LayerCAM's and
 * HiResCAM's element-wise products, Eigen-CAM's projection), or channel weights from extra model runs (Score-CAM,
 * Ablation-CAM).
 */
export interface CamImage {
  map(ctx: CamContext): Float64Array | Promise<Float64Array>;
}

/** Σ_k w_k A^k over one image's C×h×w activations. */
export function weightedSum(
  weights: ArrayLike<number>,
  a: Float32Array,
  channels: number,
  plane: number,
): Float64Array {
  const cam = new Float64Array(plane);
  for (let k = 0; k < channels; k++) for (let p = 0; p < plane; p++) cam[p] += weights[k] * a[k * plane + p];
  return cam;
}

// Operators whose weight is an initializer: the layers a classifier's head is made of.
const WEIGHTED = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

const probes = new WeakMap<Classifier, Map<string, Promise<Map<string, TensorInfo>>>>();

/** Every tensor's dims for a 1×C×H×W input (one probe run per classifier and input size, cached). */
function tensorInfo(classifier: Classifier, dims: number[]): Promise<Map<string, TensorInfo>> {
  const key = dims.slice(1).join('x');
  let byDims = probes.get(classifier);
  if (!byDims) probes.set(classifier, (byDims = new Map()));
  let info = byDims.get(key);
  if (!info) {
    const one = [1, ...dims.slice(1)];
    const zeros = new Float32Array(one.reduce((a, b) => a * b, 1));
    info = probeTensorInfo(classifier.backend, classifier.model, {
      [classifier.inputName]: { type: 'float32', dims: one, data: zeros },
    });
    byDims.set(key, info);
  }
  return info;
}

/** The name to report for a layer's output tensor: the deepest module path that resolves to it, else the tensor's name. */
export function layerName(
  classifier: Classifier,
  tensor: string,
  view = new GraphView(classifier.model.graph),
): string {
  const node = view.producer.get(tensor);
  const scopes = node?.name.split('/').filter(Boolean).slice(0, -1) ?? [];
  for (const path of scopes.reverse()) {
    try {
      if (classifier.tensorFor(path) === tensor) return path;
    } catch {
      // not a layer path
    }
  }
  return tensor;
}

/**
 * The default Grad-CAM layer: walking back from the logits past the last weighted layer (the classifier's final
 * Conv/Gemm/MatMul), the first tensor that is N×C×h×w with h·w > 1, e.g. `features.12` in SqueezeNet. Layers after
 * the final weighted one (SqueezeNet's class-score maps) are skipped: the score is linear in them, so Grad-CAM there
 * reduces to the plain class activation map, the same for every weighting.
 */
export async function findCamLayer(classifier: Classifier, imageDims: number[]): Promise<string> {
  const info = await tensorInfo(classifier, imageDims);
  const view = new GraphView(classifier.model.graph);
  const constant = (name: string) =>
    view.initializers.has(name) || view.producer.get(name)?.opType === 'Constant';
  const isFloat = (name: string) => info.get(name)?.type.startsWith('float') ?? false;
  let tensor = classifier.outputName;
  let pastHead = false;
  for (;;) {
    const node = view.producer.get(tensor);
    const dims = info.get(tensor)?.dims ?? [];
    if (pastHead && dims.length === 4 && dims[2] * dims[3] > 1) return layerName(classifier, tensor, view);
    if (!node) break;
    if (WEIGHTED.has(node.opType) && node.input.some((i) => view.initializers.has(i))) pastHead = true;
    const next = node.input.find((i) => i && !constant(i) && isFloat(i));
    if (!next) break;
    tensor = next;
  }
  throw new ModelError(
    `${classifier.source}: found no spatial layer (N×C×h×w, h·w > 1) before the classifier; pass one as 'layer' (--layer on the command line)`,
  );
}

/** Grad-CAM's weights (Selvaraju et al. 2017): each channel's mean gradient. */
export const meanGradientWeights: ChannelWeights = (_a, g, channels, plane) => {
  const weights = new Float64Array(channels);
  for (let k = 0; k < channels; k++) {
    let s = 0;
    for (let p = k * plane; p < (k + 1) * plane; p++) s += g[p];
    weights[k] = s / plane;
  }
  return weights;
};

/**
 * ReLU(Σ_k w_k A^k) at `layer` for each image's target logit, with weights from `weigh` (or ReLU of a `CamImage`'s
 * map), upsampled bilinearly to the input size. Images run in batches of `batchSize`.
 */
export async function classActivationMaps(
  classifier: Classifier,
  images: Tensor,
  target: Target,
  weigh: ChannelWeights | CamImage,
  method: string,
  { layer, batchSize = 16, onStep, signal }: CamOptions,
): Promise<CamResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, method);
  const chosen = layer ?? (await findCamLayer(classifier, images.dims));
  const [n, , height, width] = images.dims;
  let layerMaps: Float32Array | undefined;
  let dims: number[] = [];
  await inBatches(n, batchSize, { onStep, signal }, async (start, count, size) => {
    const rows = labels.slice(start, start + count);
    while (rows.length < size) rows.push(rows[count - 1]);
    const x = padBatch(sliceBatch(images, start, count), size);
    const r = await classifier.gradients(x, {
      seeds: { [classifier.outputName]: oneHot(rows, classifier.numClasses) },
      wrt: [chosen],
      expose: [chosen],
    });
    const a = r.outputs[chosen];
    const g = r.grads[chosen];
    if (a.dims.length !== 4)
      throw new ModelError(`${method}: layer '${chosen}' gives dims [${a.dims}], expected N×C×h×w`);
    const [, channels, h, w] = a.dims;
    const plane = h * w;
    dims = [n, h, w];
    layerMaps ??= new Float32Array(n * plane);
    for (let i = 0; i < count; i++) {
      const ai = a.data.subarray(i * channels * plane, (i + 1) * channels * plane);
      const gi = g.data.subarray(i * channels * plane, (i + 1) * channels * plane);
      const cam =
        typeof weigh === 'function'
          ? weightedSum(weigh(ai, gi, channels, plane), ai, channels, plane)
          : await weigh.map({
              a: ai,
              g: gi,
              channels,
              plane,
              height: h,
              width: w,
              index: start + i,
              label: labels[start + i],
              layer: chosen,
            });
      const out = (start + i) * plane;
      for (let p = 0; p < plane; p++) layerMaps[out + p] = Math.max(0, cam[p]);
    }
  });
  const small = { data: layerMaps!, dims };
  return {
    maps: upsampleBilinear(small, height, width),
    layerMaps: small,
    layer: chosen,
    labels,
    scores,
  };
}
