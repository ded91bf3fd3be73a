// netvis's library entry (Node): models, gradients, methods and rendering.
export type { Tensor } from './tensor.js';
export { compileGradient, gradName, type CompiledGradient, type ObjectiveIO } from './autodiff/compile.js';
export type {
  Canonizer,
  Composite,
  GradientSpec,
  ObjectiveHead,
  ObjectiveSpec,
  Rule,
  RuleMapping,
  TensorInfo,
} from './autodiff/types.js';
export {
  DECONVNET,
  DEEPLIFT_RESCALE,
  GUIDED_BACKPROP,
  epsilonAlpha2Beta1,
  epsilonGammaBox,
  epsilonPlusFlat,
  type LrpParameters,
} from './autodiff/composite.js';
export { decodeModel, encodeModel, ModelError } from './onnx/proto.js';
export { convertOpset, type OpsetConversion } from './onnx/opset-convert.js';
export type { Backend, Session, RuntimeTensor } from './runtime/backend.js';
export { nodeBackend } from './runtime/node.js';
export { tensorInfo } from './runtime/probe.js';
export * from './model/index.js';
export * from './image/index.js';
export {
  makeFoolingImage,
  makeFoolingImages,
  type FoolingOptions,
  type FoolingResult,
} from './methods/adversarial/fooling.js';
export {
  classVisualization,
  type ClassVisualizationOptions,
  type ClassVisualizationResult,
} from './methods/featureviz/class-visualization.js';
export { resolveClasses, oneHot, argmaxRows, softmaxRows, type ClassRef } from './methods/common.js';
export * from './methods/attribution/index.js';
export { fgsm, type FgsmOptions } from './methods/adversarial/fgsm.js';
export { bim } from './methods/adversarial/bim.js';
export { pgd } from './methods/adversarial/pgd.js';
export { pgdL2 } from './methods/adversarial/pgd-l2.js';
export { deepFool, type DeepFoolOptions } from './methods/adversarial/deepfool.js';
export { carliniWagnerL2, type CarliniWagnerOptions } from './methods/adversarial/carlini-wagner.js';
export {
  robustnessCurve,
  type RobustnessCurve,
  type RobustnessOptions,
} from './methods/adversarial/robustness.js';
export type { AttackResult, AttackGoal, AttackRunOptions, PixelUnits } from './methods/adversarial/attack.js';
export {
  visualizeFeatures,
  layerShapes,
  type FeatureVisualizationOptions,
  type FeatureVisualizationResult,
} from './methods/featureviz/feature-visualization.js';
export {
  classLogit,
  channelMean,
  neuron,
  scaled,
  sumOf,
  differenceOf,
  type Objective,
} from './methods/featureviz/objectives.js';
export * from './methods/evaluation/index.js';
export * from './render/index.js';
