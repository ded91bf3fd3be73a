import type { Classifier } from '../../model/classifier.js';
import { Attributes } from '../../onnx/attributes.js';
import { cloneModel, ModelError } from '../../onnx/proto.js';
import { decodeTensor, encodeTensor } from '../../onnx/tensor-proto.js';
import { classifierOver } from './randomization.js';
import { metricOptions, prepareMaps } from './support.js';
import type { MetricInput } from './types.js';

/** Options of Input Invariance, with Quantus's defaults. */
export const inputInvarianceDefaults = {
  /** Constant added to every input value (normalised units). */
  inputShift: -1,
};

/**
 * The classifier with its first layer (the Conv or Gemm fed by the input) compensating a constant `shift` of every
 * input value: bias b − shift·Σ W per output, so that the model computes the same function of x + shift as the
 * original of x (exactly for convolutions without padding; near padded borders the padding is not shifted).
 */
export function shiftedClassifier(classifier: Classifier, shift: number): Classifier {
  const model = cloneModel(classifier.model);
  const node = model.graph.node.find((nd) => nd.input[0] === classifier.inputName);
  if (!node || (node.opType !== 'Conv' && node.opType !== 'Gemm'))
    throw new ModelError(
      `${classifier.source}: input-invariance needs the input to feed a Conv or Gemm first, found ${node?.opType ?? 'nothing'}`,
    );
  const inits = model.graph.initializer;
  const weightAt = inits.findIndex((t) => t.name === node.input[1]);
  if (weightAt < 0)
    throw new ModelError(`${classifier.source}: the first layer's weights are not an initializer`);
  const weight = decodeTensor(inits[weightAt]);
  const values = weight.data as Float32Array;
  // Output units along the first axis (Conv, Gemm with transB) or the second (Gemm without).
  const byColumn = node.opType === 'Gemm' && new Attributes(node).int('transB', 0) === 0;
  const outputs = byColumn ? weight.dims[1] : weight.dims[0];
  const sums = new Float64Array(outputs);
  values.forEach((v, k) => (sums[byColumn ? k % outputs : Math.floor(k / (values.length / outputs))] += v));
  let biasAt = node.input[2] ? inits.findIndex((t) => t.name === node.input[2]) : -1;
  const bias = biasAt >= 0 ? (decodeTensor(inits[biasAt]).data as Float32Array) : new Float32Array(outputs);
  if (biasAt < 0) {
    if (node.input[2])
      throw new ModelError(`${classifier.source}: the first layer's bias is not an initializer`);
    node.input[2] = `${node.name || 'first_layer'}_shifted_bias`;
    biasAt = inits.length;
    inits.push(encodeTensor(node.input[2], 'float32', [outputs], bias));
  }
  const shifted = Float32Array.from(bias, (b, o) => b - shift * sums[o]);
  inits[biasAt] = encodeTensor(inits[biasAt].name, 'float32', [outputs], shifted);
  return classifierOver(classifier, model, `input shifted by ${shift}`);
}

/**
 * Input Invariance (Kindermans et al. 2019, "The (un)reliability of saliency methods"): every input value is shifted
 * by `inputShift` (default −1) and the model's first layer given the bias that undoes the shift, so that the model
 * and its prediction are unchanged; the explanation method is re-run on the shifted input and shifted model. 1 when
 * its map equals the map under test (|a − a'| ≤ 1e-4 + 1e-5·|a'| everywhere, numpy's isclose), else 0. Higher is
 * better. Quantus 85bc29d leaves the first input value unshifted (its per-sample perturbation drops the first index),
 * which fails every method; here the whole input is shifted, as in the paper. Returns one score per image.
 */
export async function inputInvariance(
  input: MetricInput,
  options: Partial<typeof inputInvarianceDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('input-invariance', inputInvarianceDefaults, options);
  const a = prepareMaps('input-invariance', input.maps, input.images, { normalise: false, abs: false });
  const shiftedModel = shiftedClassifier(input.classifier, o.inputShift);
  try {
    const x = { data: input.images.data.map((v) => v + o.inputShift), dims: input.images.dims };
    const b = prepareMaps(
      'input-invariance',
      await input.explain(shiftedModel, x, input.labels),
      input.images,
      {
        normalise: false,
        abs: false,
      },
    );
    if (b.per !== a.per)
      throw new Error(`input-invariance: explain gave ${b.per} values per image, the maps ${a.per}`);
    return Array.from({ length: a.n }, (_, i) => {
      for (let f = 0; f < a.per; f++) {
        const u = a.data[i * a.per + f];
        const v = b.data[i * a.per + f];
        if (!(Math.abs(u - v) <= 1e-4 + 1e-5 * Math.abs(v))) return 0;
      }
      return 1;
    });
  } finally {
    await shiftedModel.dispose();
  }
}
