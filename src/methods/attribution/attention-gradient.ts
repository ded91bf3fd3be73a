import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { addProduct, attentionMaps, identity, type AttentionResult } from './attention.js';
import type { AttributionOptions, Target } from './support.js';

/**
 * The relevance of Chefer, Gur & Wolf (2021) for a self-attention encoder: R = I (T×T), then per layer in order
 * R ← R + Ā·R with Ā = mean over heads of (∇A ⊙ A)⁺, A the layer's heads×T×T attention and ∇A the gradient of the
 * explained score with respect to it.
 */
export function gradientWeightedRelevance(
  attention: ArrayLike<number>[],
  gradients: ArrayLike<number>[],
  tokens: number,
): Float64Array {
  const size = tokens * tokens;
  let r = identity(tokens);
  attention.forEach((a, l) => {
    const g = gradients[l];
    const heads = a.length / size;
    const mean = new Float64Array(size);
    for (let h = 0; h < heads; h++)
      for (let p = 0; p < size; p++) mean[p] += Math.max(0, a[h * size + p] * g[h * size + p]) / heads;
    r = addProduct(Float64Array.from(r), mean, r, tokens);
  });
  return r;
}

/**
 * Gradient-weighted attention (Chefer, Gur & Wolf 2021, "Generic Attention-model Explainability for Interpreting
 * Bi-Modal and Encoder-Decoder Transformers", ICCV): attention weighted by the gradient of the target logit and
 * propagated through the layers (`gradientWeightedRelevance`), read as the class token's row over the patch grid
 * (the mean over tokens without a class token), upsampled bilinearly to H×W; N×H×W, non-negative. `target` defaults
 * to the predicted class; images run in batches of `batchSize` (default 8). The attention layers are found in the
 * graph (`findAttentionLayers`). Throws a ModelError for a model without global attention.
 */
export function attentionGradient(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  options: AttributionOptions = {},
): Promise<AttentionResult> {
  return attentionMaps(
    classifier,
    images,
    target,
    'attentionGradient',
    (attention, gradients, tokens) => gradientWeightedRelevance(attention, gradients, tokens),
    options,
  );
}
