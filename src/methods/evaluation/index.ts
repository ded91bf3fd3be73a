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
  spearman,
  weightedLayers,
  type Explainer,
  type RandomizationOptions,
  type RandomizationResult,
} from './randomization.js';
