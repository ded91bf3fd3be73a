import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { addProduct, attentionMaps, identity, type AttentionResult } from './attention.js';
import type { AttributionOptions, Target } from './support.js';

/** How attention rollout merges a layer's heads into one T×T matrix. */
export type HeadFusion = 'mean' | 'max' | 'min';

/** Options of attention rollout. */
export interface RolloutOptions extends AttributionOptions {
  /** Head fusion; default `mean` (Abnar & Zuidema 2020). */
  headFusion?: HeadFusion;
  /** Fraction in [0, 1) of each layer's smallest fused weights set to 0 before the residual is added; default 0 (none). */
  discardRatio?: number;
}

function checkDiscardRatio(ratio: number, method: string): void {
  if (!(ratio >= 0 && ratio < 1))
    throw new RangeError(`${method}: discardRatio ${ratio}, expected a number in [0, 1)`);
}

/**
 * The attention rollout of layers of attention probabilities (Abnar & Zuidema 2020), each heads×T×T with rows
 * summing to 1, in the order the model applies them: per layer, the heads fused by `headFusion`, the smallest
 * ⌊discardRatio·T²⌋ fused weights set to 0 (Gildenblat's vit-explain), the residual connection added as
 * Â = ½A + ½I and Â's rows renormalised to sum to 1; the rollout is Â_L·…·Â_1 (T×T, rows summing to 1).
 * Throws a RangeError for a discardRatio outside [0, 1).
 */
export function rollout(
  layers: ArrayLike<number>[],
  tokens: number,
  { headFusion = 'mean', discardRatio = 0 }: Pick<RolloutOptions, 'headFusion' | 'discardRatio'> = {},
): Float64Array {
  checkDiscardRatio(discardRatio, 'rollout');
  const size = tokens * tokens;
  let result = identity(tokens);
  for (const a of layers) {
    const heads = a.length / size;
    const fused = new Float64Array(size);
    for (let p = 0; p < size; p++) {
      let v = a[p];
      for (let h = 1; h < heads; h++) {
        const x = a[h * size + p];
        v = headFusion === 'mean' ? v + x : headFusion === 'max' ? Math.max(v, x) : Math.min(v, x);
      }
      fused[p] = headFusion === 'mean' ? v / heads : v;
    }
    const drop = Math.floor(discardRatio * size);
    if (drop > 0) {
      const order = Array.from({ length: size }, (_, p) => p).sort((p, q) => fused[p] - fused[q]);
      for (let k = 0; k < drop; k++) fused[order[k]] = 0;
    }
    for (let q = 0; q < tokens; q++) {
      fused[q * tokens + q] += 1;
      let sum = 0;
      for (let k = 0; k < tokens; k++) sum += fused[q * tokens + k];
      for (let k = 0; k < tokens; k++) fused[q * tokens + k] /= sum;
    }
    result = addProduct(new Float64Array(size), fused, result, tokens);
  }
  return result;
}

/**
 * Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers") for a vision transformer:
 * how much each patch flows into the class token through every attention layer (`rollout`), read as the class
 * token's row over the patch grid (the mean over tokens for a model without a class token), upsampled bilinearly
 * to H×W; N×H×W, non-negative, each image's map summing to at most 1 over the grid. The attention layers are found
 * in the graph (`findAttentionLayers`). Rollout does not depend on the class: `target` (default: the predicted
 * class) only sets the reported labels and scores. Images run in batches of `batchSize` (default 8). Throws a
 * ModelError for a model without global attention, a RangeError for a discardRatio outside [0, 1).
 */
export async function attentionRollout(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { headFusion, discardRatio, ...options }: RolloutOptions = {},
): Promise<AttentionResult> {
  checkDiscardRatio(discardRatio ?? 0, 'attentionRollout');
  return attentionMaps(
    classifier,
    images,
    target,
    'attentionRollout',
    (attention, _gradients, tokens) => rollout(attention, tokens, { headFusion, discardRatio }),
    options,
  );
}
