// The attribution metrics by their CLI names (Quantus's, in kebab case), with what a runner needs to know of each.
import { channelSum } from '../attribution/support.js';
import { attributionLocalisation, attributionLocalisationDefaults } from './attribution-localisation.js';
import { auc, aucDefaults } from './auc.js';
import { avgSensitivity, avgSensitivityDefaults } from './avg-sensitivity.js';
import { completeness, completenessDefaults } from './completeness.js';
import { complexity, complexityDefaults } from './complexity.js';
import { perturbationCurves } from './deletion-insertion.js';
import { efficientMprt, efficientMprtDefaults } from './efficient-mprt.js';
import { effectiveComplexity, effectiveComplexityDefaults } from './effective-complexity.js';
import { faithfulnessCorrelation, faithfulnessCorrelationDefaults } from './faithfulness-correlation.js';
import { inputInvariance, inputInvarianceDefaults } from './input-invariance.js';
import { irof, irofDefaults } from './irof.js';
import { localLipschitzEstimate, localLipschitzEstimateDefaults } from './local-lipschitz-estimate.js';
import { maxSensitivity, maxSensitivityDefaults } from './max-sensitivity.js';
import { monotonicityCorrelation, monotonicityCorrelationDefaults } from './monotonicity-correlation.js';
import { mprt, mprtDefaults } from './mprt.js';
import { nonSensitivity, nonSensitivityDefaults } from './non-sensitivity.js';
import { pixelFlipping, pixelFlippingDefaults } from './pixel-flipping.js';
import { pointingGame, pointingGameDefaults } from './pointing-game.js';
import { randomLogit, randomLogitDefaults } from './random-logit.js';
import { regionPerturbation, regionPerturbationDefaults } from './region-perturbation.js';
import { relativeInputStability, relativeInputStabilityDefaults } from './relative-input-stability.js';
import { relevanceMassAccuracy, relevanceMassAccuracyDefaults } from './relevance-mass-accuracy.js';
import { relevanceRankAccuracy, relevanceRankAccuracyDefaults } from './relevance-rank-accuracy.js';
import { road, roadDefaults } from './road.js';
import { selectivity, selectivityDefaults } from './selectivity.js';
import { sparseness, sparsenessDefaults } from './sparseness.js';
import { metricOptions } from './support.js';
import { topKIntersection, topKIntersectionDefaults } from './top-k-intersection.js';
import type { Metric, MetricInput } from './types.js';

export type { Explainer, Metric, MetricCategory, MetricInput } from './types.js';

const curveDefaults = { steps: 100, blurSigma: 5 };

/** Deletion or insertion AUC through netvis's RISE curves; 3-channel maps are summed over channels first. */
function riseAuc(kind: 'deletion' | 'insertion') {
  return async (input: MetricInput, options?: Record<string, unknown>): Promise<number[]> => {
    const o = metricOptions(`${kind}-auc`, curveDefaults, options);
    const maps = input.maps.dims.length === 4 ? channelSum(input.maps) : input.maps;
    const r = await perturbationCurves(input.classifier, input.images, maps, kind, input.labels, {
      ...o,
      batchSize: input.batchSize,
      onStep: input.onStep,
      signal: input.signal,
    });
    return r.auc;
  };
}

/** Every metric by CLI name, by category in Quantus's order. */
export const METRICS: Record<string, Metric> = {
  'pixel-flipping': {
    name: 'Pixel-Flipping',
    category: 'faithfulness',
    direction: 'lower',
    paper:
      'Bach et al. 2015, On pixel-wise explanations for non-linear classifier decisions by layer-wise relevance propagation',
    options: pixelFlippingDefaults,
    evaluate: (input, o) => pixelFlipping(input, o),
  },
  'region-perturbation': {
    name: 'Region Perturbation',
    category: 'faithfulness',
    direction: 'higher',
    paper: 'Samek et al. 2017, Evaluating the visualization of what a deep neural network has learned',
    options: regionPerturbationDefaults,
    evaluate: (input, o) => regionPerturbation(input, o),
  },
  'faithfulness-correlation': {
    name: 'Faithfulness Correlation',
    category: 'faithfulness',
    direction: 'higher',
    paper: 'Bhatt et al. 2020, Evaluating and aggregating feature-based model explanations',
    options: faithfulnessCorrelationDefaults,
    evaluate: (input, o) => faithfulnessCorrelation(input, o),
  },
  'monotonicity-correlation': {
    name: 'Monotonicity Correlation',
    category: 'faithfulness',
    direction: 'higher',
    paper: 'Nguyen & Martínez 2020, On quantitative aspects of model interpretability',
    options: monotonicityCorrelationDefaults,
    evaluate: (input, o) => monotonicityCorrelation(input, o),
  },
  irof: {
    name: 'IROF',
    category: 'faithfulness',
    direction: 'higher',
    paper: 'Rieger & Hansen 2020, IROF: a low resource evaluation metric for explanation methods',
    options: irofDefaults,
    evaluate: (input, o) => irof(input, o),
  },
  road: {
    name: 'ROAD',
    category: 'faithfulness',
    direction: 'lower',
    paper: 'Rong et al. 2022, A consistent and efficient evaluation strategy for attribution methods',
    options: roadDefaults,
    evaluate: (input, o) => road(input, o),
  },
  selectivity: {
    name: 'Selectivity',
    category: 'faithfulness',
    direction: 'lower',
    paper: 'Montavon et al. 2018, Methods for interpreting and understanding deep neural networks',
    options: selectivityDefaults,
    evaluate: (input, o) => selectivity(input, o),
  },
  'deletion-auc': {
    name: 'Deletion AUC',
    category: 'faithfulness',
    direction: 'lower',
    paper: 'Petsiuk et al. 2018, RISE: Randomized input sampling for explanation of black-box models',
    options: curveDefaults,
    evaluate: riseAuc('deletion'),
  },
  'insertion-auc': {
    name: 'Insertion AUC',
    category: 'faithfulness',
    direction: 'higher',
    paper: 'Petsiuk et al. 2018, RISE: Randomized input sampling for explanation of black-box models',
    options: curveDefaults,
    evaluate: riseAuc('insertion'),
  },
  'max-sensitivity': {
    name: 'Max-Sensitivity',
    category: 'robustness',
    direction: 'lower',
    paper: 'Yeh et al. 2019, On the (in)fidelity and sensitivity of explanations',
    options: maxSensitivityDefaults,
    evaluate: (input, o) => maxSensitivity(input, o),
  },
  'avg-sensitivity': {
    name: 'Avg-Sensitivity',
    category: 'robustness',
    direction: 'lower',
    paper: 'Yeh et al. 2019, On the (in)fidelity and sensitivity of explanations',
    options: avgSensitivityDefaults,
    evaluate: (input, o) => avgSensitivity(input, o),
  },
  'local-lipschitz-estimate': {
    name: 'Local Lipschitz Estimate',
    category: 'robustness',
    direction: 'lower',
    paper: 'Alvarez-Melis & Jaakkola 2018, On the robustness of interpretability methods',
    options: localLipschitzEstimateDefaults,
    evaluate: (input, o) => localLipschitzEstimate(input, o),
  },
  'relative-input-stability': {
    name: 'Relative Input Stability',
    category: 'robustness',
    direction: 'lower',
    paper: 'Agarwal et al. 2022, Rethinking stability for attribution-based explanations',
    options: relativeInputStabilityDefaults,
    evaluate: (input, o) => relativeInputStability(input, o),
  },
  sparseness: {
    name: 'Sparseness',
    category: 'complexity',
    direction: 'higher',
    paper: 'Chalasani et al. 2020, Concise explanations of neural networks using adversarial training',
    options: sparsenessDefaults,
    evaluate: (input, o) => sparseness(input, o),
  },
  complexity: {
    name: 'Complexity',
    category: 'complexity',
    direction: 'lower',
    paper: 'Bhatt et al. 2020, Evaluating and aggregating feature-based model explanations',
    options: complexityDefaults,
    evaluate: (input, o) => complexity(input, o),
  },
  'effective-complexity': {
    name: 'Effective Complexity',
    category: 'complexity',
    direction: 'lower',
    paper: 'Nguyen & Martínez 2020, On quantitative aspects of model interpretability',
    options: effectiveComplexityDefaults,
    evaluate: (input, o) => effectiveComplexity(input, o),
  },
  mprt: {
    name: 'Model Parameter Randomisation Test',
    category: 'randomisation',
    direction: 'lower',
    paper: 'Adebayo et al. 2018, Sanity checks for saliency maps',
    options: mprtDefaults,
    evaluate: (input, o) => mprt(input, o),
  },
  'efficient-mprt': {
    name: 'Efficient Model Parameter Randomisation Test',
    category: 'randomisation',
    direction: 'higher',
    paper:
      'Hedström et al. 2023, Sanity checks revisited: an exploration to repair the model parameter randomisation test',
    options: efficientMprtDefaults,
    evaluate: (input, o) => efficientMprt(input, o),
  },
  'random-logit': {
    name: 'Random Logit',
    category: 'randomisation',
    direction: 'lower',
    paper: 'Sixt et al. 2020, When explanations lie: why many modified BP attributions fail',
    options: randomLogitDefaults,
    evaluate: (input, o) => randomLogit(input, o),
  },
  completeness: {
    name: 'Completeness',
    category: 'axiomatic',
    direction: 'higher',
    paper: 'Sundararajan et al. 2017, Axiomatic attribution for deep networks',
    options: completenessDefaults,
    evaluate: (input, o) => completeness(input, o),
  },
  'non-sensitivity': {
    name: 'Non-Sensitivity',
    category: 'axiomatic',
    direction: 'lower',
    paper: 'Nguyen & Martínez 2020, On quantitative aspects of model interpretability',
    options: nonSensitivityDefaults,
    evaluate: (input, o) => nonSensitivity(input, o),
  },
  'input-invariance': {
    name: 'Input Invariance',
    category: 'axiomatic',
    direction: 'higher',
    paper: 'Kindermans et al. 2019, The (un)reliability of saliency methods',
    options: inputInvarianceDefaults,
    evaluate: (input, o) => inputInvariance(input, o),
  },
  'pointing-game': {
    name: 'Pointing-Game',
    category: 'localisation',
    direction: 'higher',
    paper: 'Zhang et al. 2018, Top-down neural attention by excitation backprop',
    needsMasks: true,
    options: pointingGameDefaults,
    evaluate: (input, o) => pointingGame(input, o),
  },
  'attribution-localisation': {
    name: 'Attribution Localisation',
    category: 'localisation',
    direction: 'higher',
    paper: 'Kohlbrenner et al. 2020, Towards best practice in explaining neural network decisions with LRP',
    needsMasks: true,
    options: attributionLocalisationDefaults,
    evaluate: (input, o) => attributionLocalisation(input, o),
  },
  'top-k-intersection': {
    name: 'Top-K Intersection',
    category: 'localisation',
    direction: 'higher',
    paper: 'Theiner et al. 2022, Interpretable semantic photo geolocation',
    needsMasks: true,
    options: topKIntersectionDefaults,
    evaluate: (input, o) => topKIntersection(input, o),
  },
  'relevance-mass-accuracy': {
    name: 'Relevance Mass Accuracy',
    category: 'localisation',
    direction: 'higher',
    paper:
      'Arras et al. 2022, CLEVR-XAI: a benchmark dataset for the ground truth evaluation of neural network explanations',
    needsMasks: true,
    options: relevanceMassAccuracyDefaults,
    evaluate: (input, o) => relevanceMassAccuracy(input, o),
  },
  'relevance-rank-accuracy': {
    name: 'Relevance Rank Accuracy',
    category: 'localisation',
    direction: 'higher',
    paper:
      'Arras et al. 2022, CLEVR-XAI: a benchmark dataset for the ground truth evaluation of neural network explanations',
    needsMasks: true,
    options: relevanceRankAccuracyDefaults,
    evaluate: (input, o) => relevanceRankAccuracy(input, o),
  },
  auc: {
    name: 'AUC',
    category: 'localisation',
    direction: 'higher',
    paper: 'Fawcett 2006, An introduction to ROC analysis',
    needsMasks: true,
    options: aucDefaults,
    evaluate: (input, o) => auc(input, o),
  },
};
