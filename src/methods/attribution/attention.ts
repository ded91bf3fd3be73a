// Attention layers: the Softmax nodes of a model's attention blocks, and their probabilities (and gradients)
// read per image as heads×T×T.
import type { TensorInfo } from '../../autodiff/types.js';
import type { Classifier } from '../../model/classifier.js';
import { Attributes } from '../../onnx/attributes.js';
import { GraphView, modulePath } from '../../onnx/graph.js';
import { ModelError } from '../../onnx/proto.js';
import type { Tensor } from '../../tensor.js';
import { tensorInfo, tokenGrid } from './layers.js';
import {
  labelGradients,
  resolveTargets,
  type AttributionOptions,
  type AttributionResult,
  type Target,
} from './support.js';
import { upsampleBilinear } from './upsample.js';

/** One attention block's probabilities. */
export interface AttentionLayer {
  /** The block's module path (the Softmax node's scope, `encoder.layers.encoder_layer_0.self_attention`), else the Softmax output's name. */
  layer: string;
  /** The Softmax output: T×T probabilities per head (and window), rows summing to 1. */
  tensor: string;
  heads: number;
  /** Windows the tokens are split into (Swin's shifted windows); 1 for global attention. */
  windows: number;
  /** Tokens each attends over. */
  tokens: number;
}

/** Whether `tensor` multiplies something (the values) in a MatMul or Einsum, directly or through Dropout/Identity. */
function weighsValues(view: GraphView, tensor: string): boolean {
  return (view.consumers.get(tensor) ?? []).some(
    (r) =>
      r.opType === 'MatMul' ||
      r.opType === 'Einsum' ||
      ((r.opType === 'Dropout' || r.opType === 'Identity') && weighsValues(view, r.output[0])),
  );
}

const found = new WeakMap<Classifier, Map<string, Promise<AttentionLayer[]>>>();

/**
 * The attention layers of a classifier, in graph order: Softmax nodes over the last axis of a …×T×T tensor whose
 * output multiplies the values (feeds a MatMul or Einsum, perhaps through Dropout). Heads and windows
 * are read from the probabilities' dims for one image: (heads)×T×T, or windows×heads×T×T. Shapes come from one probe
 * run at the model's input size (`imageDims`, default 1×3×crop×crop of its preprocessing), cached.
 */
export function findAttentionLayers(
  classifier: Classifier,
  imageDims: number[] = [1, 3, classifier.preprocessing.crop, classifier.preprocessing.crop],
): Promise<AttentionLayer[]> {
  const key = imageDims.slice(1).join('x');
  let byDims = found.get(classifier);
  if (!byDims) found.set(classifier, (byDims = new Map()));
  let layers = byDims.get(key);
  if (!layers) {
    layers = tensorInfo(classifier, imageDims).then((info) => attentionLayers(classifier, info));
    byDims.set(key, layers);
  }
  return layers;
}

function attentionLayers(classifier: Classifier, info: Map<string, TensorInfo>): AttentionLayer[] {
  const view = new GraphView(classifier.model.graph);
  const layers: AttentionLayer[] = [];
  for (const node of classifier.model.graph.node) {
    if (node.opType !== 'Softmax') continue;
    const dims = info.get(node.output[0])?.dims ?? [];
    const rank = dims.length;
    const axis = new Attributes(node).int('axis', -1);
    if (rank < 3 || dims[rank - 1] !== dims[rank - 2] || (axis + rank) % rank !== rank - 1) continue;
    if (!weighsValues(view, node.output[0])) continue;
    const lead = dims.slice(0, -2);
    const heads = lead.length >= 2 ? lead[lead.length - 1] : lead[0];
    layers.push({
      layer: modulePath(node.name) || node.output[0],
      tensor: node.output[0],
      heads,
      windows: lead.reduce((a, c) => a * c, 1) / heads,
      tokens: dims[rank - 1],
    });
  }
  return layers;
}

/**
 * Whether `classifier` has global attention that rollout-style methods can read (`globalAttention` at its input
 * size). Models without a Softmax that weighs values answer without a probe run.
 */
export async function hasGlobalAttention(classifier: Classifier): Promise<boolean> {
  const view = new GraphView(classifier.model.graph);
  const candidates = classifier.model.graph.node.some(
    (n) => n.opType === 'Softmax' && weighsValues(view, n.output[0]),
  );
  if (!candidates) return false;
  const { crop } = classifier.preprocessing;
  try {
    await globalAttention(classifier, [1, 3, crop, crop], '');
    return true;
  } catch (err) {
    if (err instanceof ModelError) return false;
    throw err;
  }
}

/** Where the patch tokens are among an attention layer's T tokens: after `extraTokens` (the class token), on an h×w grid. */
export interface TokenGrid {
  height: number;
  width: number;
  extraTokens: number;
}

/** The attention layers a rollout runs over and where their patch tokens are: global attention over the same tokens in every layer. */
export async function globalAttention(
  classifier: Classifier,
  imageDims: number[],
  method: string,
): Promise<{ layers: AttentionLayer[]; grid: TokenGrid }> {
  const layers = await findAttentionLayers(classifier, [1, ...imageDims.slice(1)]);
  if (layers.length === 0)
    throw new ModelError(
      `${method}: ${classifier.source} has no attention layers (Softmax over …×T×T feeding a MatMul)`,
    );
  const windowed = layers.find((l) => l.windows > 1);
  if (windowed)
    throw new ModelError(
      `${method}: ${windowed.layer} attends within ${windowed.windows} windows of ${windowed.tokens} tokens (as Swin does); ` +
        'attention rollout needs every token to attend to every other',
    );
  const tokens = layers[0].tokens;
  const grid = tokenGrid(new GraphView(classifier.model.graph), tokens, imageDims);
  if (!grid || layers.some((l) => l.tokens !== tokens))
    throw new ModelError(
      `${method}: the attention layers attend over [${[...new Set(layers.map((l) => l.tokens))]}] tokens; expected ` +
        'the same count in every layer: the patch grid of the patch embedding plus any class tokens',
    );
  return { layers, grid };
}

/** The T×T identity matrix, row-major. */
export function identity(tokens: number): Float64Array {
  const m = new Float64Array(tokens * tokens);
  for (let q = 0; q < tokens; q++) m[q * tokens + q] = 1;
  return m;
}

/** `out` + a·r for T×T row-major matrices, written into `out` (returned). */
export function addProduct(
  out: Float64Array,
  a: Float64Array,
  r: Float64Array,
  tokens: number,
): Float64Array {
  for (let q = 0; q < tokens; q++)
    for (let k = 0; k < tokens; k++) {
      const w = a[q * tokens + k];
      if (w === 0) continue;
      for (let j = 0; j < tokens; j++) out[q * tokens + j] += w * r[k * tokens + j];
    }
  return out;
}

/**
 * The map of a T×T relevance (or rollout) matrix R over the patch grid: the class token's row (R[0, patches]) when
 * the model has extra tokens, else the mean of the patch rows (what a model that averages its tokens reads).
 */
export function patchMap(r: Float64Array, grid: TokenGrid): Float32Array {
  const tokens = Math.round(Math.sqrt(r.length));
  const plane = grid.height * grid.width;
  const out = new Float32Array(plane);
  const first = grid.extraTokens;
  if (first > 0) {
    for (let p = 0; p < plane; p++) out[p] = r[first + p];
    return out;
  }
  for (let q = 0; q < tokens; q++) for (let p = 0; p < plane; p++) out[p] += r[q * tokens + p] / tokens;
  return out;
}

/** Attention maps over the patch grid, upsampled to the input, and the layers they come from. */
export interface AttentionResult extends AttributionResult {
  /** N×H×W, non-negative, bilinearly upsampled from `layerMaps`. */
  maps: Tensor;
  /** N×h×w over the patch grid. */
  layerMaps: Tensor;
  /** The attention layers used, in order (module paths). */
  layers: string[];
}

/**
 * Runs attention rollout-like `method` over `images`: per batch, every attention layer's probabilities and the
 * gradients of each image's target logit with respect to them; `relevance` turns one image's per-layer heads×T×T
 * pairs into a T×T matrix, read on the patch grid (`patchMap`) and upsampled. Images run in batches of `batchSize`
 * (default 8: every layer's attention is held for the batch).
 */
export async function attentionMaps(
  classifier: Classifier,
  images: Tensor,
  target: Target,
  method: string,
  relevance: (attention: Float32Array[], gradients: Float32Array[], tokens: number) => Float64Array,
  { batchSize = 8, onStep, signal }: AttributionOptions,
): Promise<AttentionResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, method);
  const { layers, grid } = await globalAttention(classifier, images.dims, method);
  const [n, , height, width] = images.dims;
  const plane = grid.height * grid.width;
  const layerMaps = new Float32Array(n * plane);
  const tensors = layers.map((l) => l.tensor);
  const request = { wrt: tensors, expose: tensors };
  await labelGradients(
    classifier,
    images,
    labels,
    request,
    { batchSize, onStep, signal },
    (start, count, r, x) => {
      const size = x.dims[0];
      for (let i = 0; i < count; i++) {
        const ofImage = (t: Tensor) => {
          const per = t.data.length / size;
          return t.data.subarray(i * per, (i + 1) * per);
        };
        const matrix = relevance(
          tensors.map((t) => ofImage(r.outputs[t])),
          tensors.map((t) => ofImage(r.grads[t])),
          layers[0].tokens,
        );
        layerMaps.set(patchMap(matrix, grid), (start + i) * plane);
      }
    },
  );
  const small = { data: layerMaps, dims: [n, grid.height, grid.width] };
  return {
    maps: upsampleBilinear(small, height, width),
    layerMaps: small,
    layers: layers.map((l) => l.layer),
    labels,
    scores,
  };
}
