// netvis's library entry (Node): models, gradients, methods and rendering.
export type { Tensor } from './tensor.js';
export { compileGradient, gradName, type CompiledGradient } from './autodiff/compile.js';
export type { GradientSpec, ReluRule, TensorInfo } from './autodiff/types.js';
export { decodeModel, encodeModel, ModelError } from './onnx/proto.js';
export type { Backend, Session, RuntimeTensor } from './runtime/backend.js';
export { nodeBackend } from './runtime/node.js';
export * from './model/index.js';
export * from './image/index.js';
export { saliency, type SaliencyResult } from './methods/attribution/saliency.js';
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
export * from './render/index.js';
