import type { Classifier } from '../../model/classifier.js';
import { Attributes } from '../../onnx/attributes.js';
import { GraphView } from '../../onnx/graph.js';
import { ModelError } from '../../onnx/proto.js';
import { toNumbers } from '../../onnx/tensor-proto.js';
import type { Tensor } from '../../tensor.js';
import {
  labelGradients,
  resolveTargets,
  type AttributionOptions,
  type AttributionResult,
  type Target,
} from './support.js';
import { upsampleBilinear } from './upsample.js';

/** FullGrad's maps and the layers whose biases entered them. */
export interface FullGradResult extends AttributionResult {
  /** N×H×W, non-negative, unnormalised: the sum of the normalised input and bias-gradient terms. */
  maps: Tensor;
  /** The output tensors of the Conv and BatchNormalization nodes whose bias gradients were summed, in graph order. */
  biasLayers: string[];
}

/** Per output tensor of a Conv (with a bias input) or BatchNormalization node: its per-channel bias. */
function spatialBiases(classifier: Classifier): Map<string, number[]> {
  const view = new GraphView(classifier.model.graph);
  const value = (name: string) => {
    const t = view.constantValue(name);
    if (!t) throw new ModelError(`fullGrad: '${name}' is not a constant`);
    return toNumbers(t.data);
  };
  const biases = new Map<string, number[]>();
  for (const node of classifier.model.graph.node) {
    if (node.opType === 'Conv' && node.input[2]) biases.set(node.output[0], value(node.input[2]));
    if (node.opType === 'BatchNormalization') {
      // Inference-mode BatchNorm is γ(x − μ)/√(σ² + ε) + β: its bias is β − γμ/√(σ² + ε).
      const [scale, beta, mean, variance] = node.input.slice(1, 5).map(value);
      const eps = new Attributes(node).float('epsilon', 1e-5);
      biases.set(
        node.output[0],
        beta.map((b, c) => b - (scale[c] * mean[c]) / Math.sqrt(variance[c] + eps)),
      );
    }
  }
  return biases;
}

// Σ_c ψ(m_c) over a stack of C maps h×w: each |map| shifted to 0 and divided by (1e-7 + its max), as pytorch-grad-cam's
// scale_cam_image, then summed. The sum is taken before upsampling: bilinear upsampling is linear, so upsampling the
// sum equals summing the upsampled maps.
function normalisedSum(
  maps: Float32Array,
  channels: number,
  plane: number,
  scale: (c: number) => number,
): Float64Array {
  const out = new Float64Array(plane);
  const m = new Float64Array(plane);
  for (let c = 0; c < channels; c++) {
    const s = scale(c);
    let lo = Infinity;
    let hi = -Infinity;
    for (let p = 0; p < plane; p++) {
      const v = Math.abs(s * maps[c * plane + p]);
      m[p] = v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const d = 1e-7 + (hi - lo);
    for (let p = 0; p < plane; p++) out[p] += (m[p] - lo) / d;
  }
  return out;
}

/**
 * FullGrad (Srinivas & Fleuret 2019), as pytorch-grad-cam computes it: ψ(|∇x f ⊙ x|) summed over the colour channels,
 * plus, for every Conv and BatchNormalization node with a bias b (BatchNorm's effective bias β − γμ/√(σ² + ε)), ψ(|b_c ·
 * ∂f/∂z_c|) for each channel c of its output z, upsampled bilinearly and summed; ψ shifts a map to 0 and scales it to
 * [0, 1]. f is the target's logit; all gradients come from one compiled backward pass. N×H×W, non-negative,
 * unnormalised (pytorch-grad-cam min-max normalises the sum for display). `target` defaults to the predicted class;
 * images run in batches of `batchSize` (default 16). Throws a ModelError when the model has no biased Conv or
 * BatchNormalization node.
 */
export async function fullGrad(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { batchSize = 16, onStep, signal }: AttributionOptions = {},
): Promise<FullGradResult> {
  const { labels, scores } = await resolveTargets(classifier, images, target, batchSize, 'fullGrad');
  const biases = spatialBiases(classifier);
  if (biases.size === 0)
    throw new ModelError(`${classifier.source}: fullGrad: no Conv or BatchNormalization node with a bias`);
  const biasLayers = [...biases.keys()];
  const [n, c, height, width] = images.dims;
  const pixels = height * width;
  const maps = new Float32Array(n * pixels);
  const request = { wrt: [classifier.inputName, ...biasLayers] };
  await labelGradients(
    classifier,
    images,
    labels,
    request,
    { batchSize, onStep, signal },
    (start, count, r, x) => {
      for (let i = 0; i < count; i++) {
        const total = new Float64Array(pixels);
        const gx = r.grads[classifier.inputName].data.subarray(i * c * pixels, (i + 1) * c * pixels);
        const xi = x.data.subarray(i * c * pixels, (i + 1) * c * pixels);
        const gradientTimesInput = new Float32Array(gx.length);
        for (let p = 0; p < gx.length; p++) gradientTimesInput[p] = gx[p] * xi[p];
        const input = normalisedSum(gradientTimesInput, c, pixels, () => 1);
        for (let p = 0; p < pixels; p++) total[p] += input[p];
        for (const layer of biasLayers) {
          const g = r.grads[layer];
          if (g.dims.length !== 4) continue; // not spatial: a constant map, which ψ makes zero
          const [, channels, h, w] = g.dims;
          const plane = h * w;
          const bias = biases.get(layer)!;
          const sum = normalisedSum(
            g.data.subarray(i * channels * plane, (i + 1) * channels * plane),
            channels,
            plane,
            (k) => bias[k],
          );
          const up = upsampleBilinear({ data: Float32Array.from(sum), dims: [h, w] }, height, width);
          for (let p = 0; p < pixels; p++) total[p] += up.data[p];
        }
        maps.set(Float32Array.from(total), (start + i) * pixels);
      }
    },
  );
  return { maps: { data: maps, dims: [n, height, width] }, labels, scores, biasLayers };
}
