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
  type RandomizationOptions,
  type RandomizationResult,
} from './randomization.js';
export { METRICS, type Explainer, type Metric, type MetricCategory, type MetricInput } from './registry.js';
