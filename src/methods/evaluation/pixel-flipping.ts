import { Random } from '../random.js';
import {
  baselineValue,
  broadcastMaps,
  checkFeaturesInStep,
  baselineDefaults,
  descending,
  metricOptions,
  prepareMaps,
  scoreCopies,
  trapezoid,
} from './support.js';
import type { MetricInput } from './types.js';

/** Options of Pixel-Flipping, with Quantus's defaults. */
export const pixelFlippingDefaults = {
  /** Features (channel values) flipped per step; must divide H·W, as Quantus asks. */
  featuresInStep: 1,
  ...baselineDefaults,
};

/** Pixel-Flipping curves and their areas. */
export interface PixelFlippingResult {
  /** Per image, ⌈C·H·W / featuresInStep⌉ points: the score of its label after each step. */
  curves: number[][];
  /** Per image, the area under its curve by the trapezoid rule with unit spacing (Quantus's AUC per sample). */
  auc: number[];
}

/**
 * Pixel-Flipping (Bach et al. 2015, "On pixel-wise explanations for non-linear classifier decisions by layer-wise
 * relevance propagation"): the features (each channel value; an N×H×W map stands for its pixel's 3 channels) are
 * flipped to the baseline (default 'black': the image's smallest value) from the most relevant down, `featuresInStep`
 * per step (default 1), cumulatively, and the label's softmax probability (or logit) recorded after each step. A
 * faithful map makes the curve fall fast: lower AUC is better. Ties in the order go by position. Every step of every
 * image is one model run, batched across images: C·H·W / featuresInStep runs per image.
 */
export async function pixelFlippingCurves(
  input: MetricInput,
  options: Partial<typeof pixelFlippingDefaults> = {},
): Promise<PixelFlippingResult> {
  const o = metricOptions('pixel-flipping', pixelFlippingDefaults, options);
  const a = prepareMaps('pixel-flipping', input.maps, input.images, o);
  const [n, c] = input.images.dims;
  const per = c * a.plane;
  checkFeaturesInStep('pixel-flipping', o.featuresInStep, a.plane);
  const values = broadcastMaps(a, c);
  const steps = Math.ceil(per / o.featuresInStep);
  const random = new Random(o.seed);
  let order: Uint32Array = new Uint32Array();
  let state: Float32Array = new Float32Array(per);
  const { scores } = await scoreCopies(
    input,
    n * steps,
    (j, out) => {
      const i = Math.floor(j / steps);
      const s = j % steps;
      if (s === 0) {
        order = descending(values.subarray(i * per, (i + 1) * per));
        state = input.images.data.slice(i * per, (i + 1) * per);
      }
      const v = baselineValue('pixel-flipping', o.perturbBaseline, state, random);
      for (const f of order.subarray(s * o.featuresInStep, (s + 1) * o.featuresInStep)) state[f] = v;
      out.set(state);
    },
    (j) => input.labels[Math.floor(j / steps)],
    o,
  );
  const curves = Array.from({ length: n }, (_, i) => Array.from(scores.subarray(i * steps, (i + 1) * steps)));
  return { curves, auc: curves.map(trapezoid) };
}

/** Pixel-Flipping's AUC per image (see `pixelFlippingCurves`); lower is better. */
export async function pixelFlipping(
  input: MetricInput,
  options: Partial<typeof pixelFlippingDefaults> = {},
): Promise<number[]> {
  return (await pixelFlippingCurves(input, options)).auc;
}
