// What the CAM family shares: the layer, its activations and gradients, the weighted sum (pytorch-grad-cam's base_cam).
import type { TensorInfo } from '../../autodiff/types.js';
import type { Classifier } from '../../model/classifier.js';
import { GraphView } from '../../onnx/graph.js';
import { ModelError } from '../../onnx/proto.js';
import type { Tensor } from '../../tensor.js';
import {
  labelGradients,
  resolveTargets,
  type AttributionOptions,
  type AttributionResult,
  type Target,
} from './support.js';
import { findAttentionLayers } from './attention.js';
import { channelPlanes, fromChannelPlanes, layerLayout, layerName, tensorInfo } from './layers.js';
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
  /** `count` stacked C×h×w copies of A as a batch in the layer's own layout (tokens or channels last too), for runs from the layer on. */
  asLayer(planes: Float32Array, count: number): Tensor;
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

/**
 * The default CAM layer: walking back from the logits past the last weighted layer (the classifier's final
 * Conv/Gemm/MatMul), the first tensor that holds a map over more than one position: N×C×h×w (`features.12` in
 * SqueezeNet, the last stage in ConvNeXt), N×h×w×C (Swin's final `norm`; a Transpose that only reorders axes is
 * stepped through), or N×T×C tokens over the patch grid (`layerLayout`). Layers after the final weighted one
 * (SqueezeNet's class-score maps) are skipped: the score is linear in them, so Grad-CAM there reduces to the plain
 * class activation map, the same for every weighting.
 *
 * When the head reads only the class token (a Gather or Slice of the tokens, as ViT's), the last block's patch
 * tokens never reach the score and their gradients are zero; the layer is then the last tensor of that shape
 * feeding the last attention layer (ViT's `encoder.layers.encoder_layer_11.ln_1`, where patch tokens reach the
 * class token), as pytorch-grad-cam's ViT example picks `blocks[-1].norm1`. Returns the layer's module path, or its
 * tensor name when no module path resolves to it; throws a ModelError when there is no such layer.
 */
export async function findCamLayer(classifier: Classifier, imageDims: number[]): Promise<string> {
  const info = await tensorInfo(classifier, imageDims);
  const view = new GraphView(classifier.model.graph);
  const constant = (name: string) =>
    view.initializers.has(name) || view.producer.get(name)?.opType === 'Constant';
  const isFloat = (name: string) => info.get(name)?.type.startsWith('float') ?? false;
  const dimsOf = (name: string) => info.get(name)?.dims ?? [];
  let tensor = classifier.outputName;
  let pastHead = false;
  let classTokenOnly = false;
  for (;;) {
    const node = view.producer.get(tensor);
    const layout =
      pastHead && node?.opType !== 'Transpose'
        ? layerLayout(view, tensor, dimsOf(tensor).slice(1), imageDims)
        : undefined;
    if (layout && layout.height * layout.width > 1) {
      if (layout.kind === 'tokens' && classTokenOnly)
        return layerName(classifier, await lastAttentionInput(classifier, imageDims, tensor, info), view);
      return layerName(classifier, tensor, view);
    }
    if (!node) break;
    if (WEIGHTED.has(node.opType) && node.input.some((i) => view.initializers.has(i))) pastHead = true;
    const next = node.input.find((i) => i && !constant(i) && isFloat(i));
    if (!next) break;
    if (pastHead && (node.opType === 'Gather' || node.opType === 'Slice') && dimsOf(next).length === 3)
      classTokenOnly = true;
    tensor = next;
  }
  throw new ModelError(
    `${classifier.source}: found no spatial layer (N×C×h×w, N×h×w×C or patch tokens) before the classifier; pass one as 'layer' (--layer on the command line)`,
  );
}

/** The last tensor with `tokens`'s dims that the last attention layer depends on (`tokens` when there is no attention). */
async function lastAttentionInput(
  classifier: Classifier,
  imageDims: number[],
  tokens: string,
  info: Map<string, TensorInfo>,
): Promise<string> {
  const attention = (await findAttentionLayers(classifier, [1, ...imageDims.slice(1)])).at(-1);
  if (!attention) return tokens;
  const view = new GraphView(classifier.model.graph);
  const ancestors = new Set<string>();
  const stack = [attention.tensor];
  while (stack.length) {
    const t = stack.pop()!;
    if (ancestors.has(t)) continue;
    ancestors.add(t);
    for (const i of view.producer.get(t)?.input ?? []) if (i) stack.push(i);
  }
  const shape = info.get(tokens)!.dims.join();
  let found = tokens;
  for (const node of classifier.model.graph.node)
    for (const o of node.output) if (ancestors.has(o) && info.get(o)?.dims.join() === shape) found = o;
  return found;
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
  const view = new GraphView(classifier.model.graph);
  const [n, , height, width] = images.dims;
  let layerMaps: Float32Array | undefined;
  let dims: number[] = [];
  const request = { wrt: [chosen], expose: [chosen] };
  await labelGradients(
    classifier,
    images,
    labels,
    request,
    { batchSize, onStep, signal },
    async (start, count, r, x) => {
      const size = x.dims[0];
      const a = r.outputs[chosen];
      const g = r.grads[chosen];
      // Token and channels-last layers are read as C×h×w maps, so every ChannelWeights works on them.
      const layout = layerLayout(view, classifier.tensorFor(chosen), a.dims.slice(1), images.dims);
      if (!layout)
        throw new ModelError(
          `${method}: layer '${chosen}' gives dims [${a.dims}], expected N×C×h×w, N×h×w×C or N×T×C patch tokens`,
        );
      const { channels, height: h, width: w } = layout;
      const plane = h * w;
      const per = a.data.length / size;
      dims = [n, h, w];
      layerMaps ??= new Float32Array(n * plane);
      for (let i = 0; i < count; i++) {
        const native = a.data.subarray(i * per, (i + 1) * per);
        const ai = channelPlanes(native, layout);
        const gi = channelPlanes(g.data.subarray(i * per, (i + 1) * per), layout);
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
                asLayer: (planes, copies) =>
                  fromChannelPlanes(planes, copies, layout, native.slice(0, layout.extraTokens * channels)),
              });
        const out = (start + i) * plane;
        for (let p = 0; p < plane; p++) layerMaps[out + p] = Math.max(0, cam[p]);
      }
    },
  );
  const small = { data: layerMaps!, dims };
  return {
    maps: upsampleBilinear(small, height, width),
    layerMaps: small,
    layer: chosen,
    labels,
    scores,
  };
}
