// Checks of attribution maps; src/index.ts re-exports this folder.
export {
  areaUnderCurve,
  perturbationCurves,
  type PerturbationMetric,
  type PerturbationOptions,
  type PerturbationResult,
} from './deletion-insertion.js';
export {
  modelRandomization,
  randomisedClassifier,
  spearman,
  weightedLayers,
  type RandomizationOptions,
  type RandomizationResult,
} from './randomization.js';
export { METRICS, type Explainer, type Metric, type MetricCategory, type MetricInput } from './registry.js';
export { pixelFlipping, pixelFlippingCurves, type PixelFlippingResult } from './pixel-flipping.js';
export {
  regionPerturbation,
  regionPerturbationCurves,
  type RegionPerturbationResult,
} from './region-perturbation.js';
export { selectivity, selectivityCurves, type SelectivityResult } from './selectivity.js';
export { faithfulnessCorrelation } from './faithfulness-correlation.js';
export { monotonicityCorrelation } from './monotonicity-correlation.js';
export { irof } from './irof.js';
export { road } from './road.js';
export { noisyLinearImputation } from './noisy-linear-imputation.js';
export { maxSensitivity } from './max-sensitivity.js';
export { avgSensitivity } from './avg-sensitivity.js';
export { localLipschitzEstimate } from './local-lipschitz-estimate.js';
export { relativeInputStability } from './relative-input-stability.js';
export { sparseness } from './sparseness.js';
export { complexity } from './complexity.js';
export { effectiveComplexity } from './effective-complexity.js';
export { mprt } from './mprt.js';
export { efficientMprt } from './efficient-mprt.js';
export { randomLogit, ssim } from './random-logit.js';
export { completeness, completenessGap } from './completeness.js';
export { nonSensitivity } from './non-sensitivity.js';
export { inputInvariance, shiftedClassifier } from './input-invariance.js';
export { pointingGame } from './pointing-game.js';
export { attributionLocalisation } from './attribution-localisation.js';
export { topKIntersection } from './top-k-intersection.js';
export { relevanceMassAccuracy } from './relevance-mass-accuracy.js';
export { relevanceRankAccuracy } from './relevance-rank-accuracy.js';
export { auc } from './auc.js';
