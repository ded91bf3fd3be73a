// What the layer methods (the CAMs, attention rollout) know of a model's layers: every tensor's dims at an input
// size, the names to report, and how one image's activations at a layer are laid out (channels first, channels
// last as in Swin, or tokens as in ViT) and read as C×h×w maps.
import type { TensorInfo } from '../../autodiff/types.js';
import type { Classifier } from '../../model/classifier.js';
import { Attributes } from '../../onnx/attributes.js';
import { GraphView, modulePath } from '../../onnx/graph.js';
import { tensorInfo as inferredInfo } from '../../runtime/probe.js';

const probes = new WeakMap<Classifier, Map<string, Promise<Map<string, TensorInfo>>>>();

/** Every tensor's dims for a 1×C×H×W input (inferred once per classifier and input size, cached). */
export function tensorInfo(classifier: Classifier, dims: number[]): Promise<Map<string, TensorInfo>> {
  const key = dims.slice(1).join('x');
  let byDims = probes.get(classifier);
  if (!byDims) probes.set(classifier, (byDims = new Map()));
  let info = byDims.get(key);
  if (!info) {
    info = inferredInfo(classifier.backend, classifier.model, {
      [classifier.inputName]: { type: 'float32', dims: [1, ...dims.slice(1)] },
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
  const scopes = view.producer.get(tensor)?.name.split('/').filter(Boolean).slice(0, -1) ?? [];
  for (let depth = scopes.length; depth > 0; depth--) {
    const path = modulePath(`/${scopes.slice(0, depth).join('/')}/node`);
    try {
      if (classifier.tensorFor(path) === tensor) return path;
    } catch {
      // not a layer path
    }
  }
  return tensor;
}

/**
 * The patch grid of a vision transformer for an image of `height`×`width`: the output size of its patch embedding,
 * the first Conv whose kernel equals its stride (ViT's 16×16/16, Swin's and ConvNeXt's 4×4/4). Undefined without one.
 */
export function patchGrid(view: GraphView, height: number, width: number): [number, number] | undefined {
  const embed = view.graph.node.find((n) => {
    if (n.opType !== 'Conv') return false;
    const a = new Attributes(n);
    const kernel = a.ints('kernel_shape', []);
    return kernel.length === 2 && kernel.join() === a.ints('strides', [1, 1]).join() && kernel[0] > 1;
  });
  if (!embed) return undefined;
  const a = new Attributes(embed);
  const [kh, kw] = a.ints('kernel_shape', []);
  const pads = a.ints('pads', [0, 0, 0, 0]);
  return [
    Math.floor((height + pads[0] + pads[2] - kh) / kh) + 1,
    Math.floor((width + pads[1] + pads[3] - kw) / kw) + 1,
  ];
}

/**
 * How one image's activations at a layer are laid out: `channels-first` C×h×w (CNNs), `channels-last` h×w×C
 * (Swin), or `tokens` T×C with T = `extraTokens` + h·w, the extra tokens (class token, distillation or register
 * tokens) first and the patch tokens in row-major order over the patch grid.
 */
export interface LayerLayout {
  kind: 'channels-first' | 'channels-last' | 'tokens';
  channels: number;
  height: number;
  width: number;
  extraTokens: number;
}

// Operators that read or write a 4-D tensor channels first, and those that work on its last axis.
const CHANNELS_FIRST = new Set([
  'Conv',
  'BatchNormalization',
  'InstanceNormalization',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
]);

/** Whether a 4-D tensor is N×h×w×C, judged from the nodes that make and read it; channels first when they do not tell. */
function channelsLast(view: GraphView, tensor: string): boolean {
  const producer = view.producer.get(tensor);
  const nodes = [...(producer ? [producer] : []), ...(view.consumers.get(tensor) ?? [])];
  for (const node of nodes) {
    const made = node === producer;
    const a = new Attributes(node);
    if (CHANNELS_FIRST.has(node.opType)) return false;
    if (node.opType === 'LayerNormalization') return [-1, 3].includes(a.int('axis', -1));
    if (node.opType === 'MatMul' || node.opType === 'Gemm') return true;
    if (node.opType === 'Transpose') {
      const perm = a.ints('perm', []).join();
      // NHWC → NCHW reads channels last; NCHW → NHWC makes them.
      if (perm === '0,3,1,2') return !made;
      if (perm === '0,2,3,1') return made;
    }
  }
  return false;
}

/**
 * The layout of `tensor` whose activations for one image have dims `dims` (no batch axis), for an input of
 * `imageDims` (N×C×H×W); undefined when it is none of a 2-D map's layouts. Tokens are recognised by their count:
 * h·w patch tokens of the patch grid (`patchGrid`) plus fewer extra tokens than that.
 */
export function layerLayout(
  view: GraphView,
  tensor: string,
  dims: number[],
  imageDims: number[],
): LayerLayout | undefined {
  if (dims.length === 3) {
    const [c, h, w] = channelsLast(view, tensor) ? [dims[2], dims[0], dims[1]] : dims;
    const kind = channelsLast(view, tensor) ? 'channels-last' : 'channels-first';
    return { kind, channels: c, height: h, width: w, extraTokens: 0 };
  }
  if (dims.length !== 2) return undefined;
  const grid = tokenGrid(view, dims[0], imageDims);
  return grid && { kind: 'tokens', channels: dims[1], ...grid };
}

/** Where `tokens` tokens sit on the patch grid (`patchGrid`) of an `imageDims` input: h·w patch tokens after fewer extra tokens than that; undefined when they do not fit it. */
export function tokenGrid(
  view: GraphView,
  tokens: number,
  imageDims: number[],
): { height: number; width: number; extraTokens: number } | undefined {
  const grid = patchGrid(view, imageDims[2], imageDims[3]);
  if (!grid) return undefined;
  const [height, width] = grid;
  const extraTokens = tokens - height * width;
  if (extraTokens < 0 || extraTokens >= height * width) return undefined;
  return { height, width, extraTokens };
}

/** One image's activations in `layout` as C×(h·w) maps, channel-major, extra tokens dropped (`data` itself when already so). */
export function channelPlanes(data: Float32Array, layout: LayerLayout): Float32Array {
  if (layout.kind === 'channels-first') return data;
  const { channels, extraTokens } = layout;
  const plane = layout.height * layout.width;
  const out = new Float32Array(channels * plane);
  const skip = extraTokens * channels;
  for (let p = 0; p < plane; p++)
    for (let k = 0; k < channels; k++) out[k * plane + p] = data[skip + p * channels + k];
  return out;
}

/**
 * `count` stacked C×(h·w) copies (`planes`) as a batch in `layout`, the inverse of `channelPlanes`: the extra
 * tokens of each copy are `extra` (one image's, extraTokens×C), so the batch can be fed to the model from the layer on.
 */
export function fromChannelPlanes(
  planes: Float32Array,
  count: number,
  layout: LayerLayout,
  extra: Float32Array,
): { data: Float32Array; dims: number[] } {
  const { kind, channels, height, width, extraTokens } = layout;
  if (kind === 'channels-first') return { data: planes, dims: [count, channels, height, width] };
  const plane = height * width;
  const per = (extraTokens + plane) * channels;
  const data = new Float32Array(count * per);
  for (let i = 0; i < count; i++) {
    data.set(extra, i * per);
    const from = i * channels * plane;
    const to = i * per + extraTokens * channels;
    for (let p = 0; p < plane; p++)
      for (let k = 0; k < channels; k++) data[to + p * channels + k] = planes[from + k * plane + p];
  }
  const dims = kind === 'tokens' ? [count, extraTokens + plane, channels] : [count, height, width, channels];
  return { data, dims };
}
