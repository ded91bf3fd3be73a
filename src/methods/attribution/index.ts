// The attribution methods and their shared types; src/index.ts re-exports this folder.
export { saliency, type SaliencyResult } from './saliency.js';
export { smoothGrad, type SmoothGradOptions } from './smoothgrad.js';
export { varGrad } from './vargrad.js';
export type { NoiseOptions } from './noisy-gradients.js';
export {
  integratedGradients,
  integrationPoints,
  type Baseline,
  type IntegrationRule,
  type IntegratedGradientsOptions,
  type IntegratedGradientsResult,
} from './integrated-gradients.js';
export { inputXGradient } from './input-x-gradient.js';
export { guidedBackprop } from './guided-backprop.js';
export { deconvnet } from './deconvnet.js';
export {
  deepLift,
  deepLiftPairs,
  type DeepLiftOptions,
  type DeepLiftResult,
  type PairAttribution,
} from './deeplift.js';
export { deepLiftShap, type DeepLiftShapOptions, type DeepLiftShapResult } from './deeplift-shap.js';
export { lrp, inputBounds, type LrpOptions, type LrpResult } from './lrp.js';
export { gradCam } from './gradcam.js';
export { gradCamPlusPlus } from './gradcam-plus-plus.js';
export { guidedGradCam, type GuidedGradCamResult } from './guided-gradcam.js';
export {
  findCamLayer,
  type CamContext,
  type CamImage,
  type CamOptions,
  type CamResult,
  type ChannelWeights,
} from './cam.js';
export { scoreCam } from './scorecam.js';
export { layerCam } from './layercam.js';
export { xGradCam } from './xgradcam.js';
export { hiResCam } from './hirescam.js';
export { eigenCam, firstPrincipalProjection } from './eigencam.js';
export { eigenGradCam } from './eigengradcam.js';
export { ablationCam } from './ablationcam.js';
export { fullGrad, type FullGradResult } from './fullgrad.js';
export { gradientShap, type GradientShapOptions, type GradientShapResult } from './gradient-shap.js';
export { kernelShap, type KernelShapResult } from './kernel-shap.js';
export type { SurrogateOptions, SurrogateResult } from './surrogate.js';
export { lime, type LimeOptions } from './lime.js';
export { rise, type RiseOptions } from './rise.js';
export { featureMasks, type FeatureMask } from './feature-masks.js';
export { findAttentionLayers, type AttentionLayer, type AttentionResult } from './attention.js';
export { attentionRollout, rollout, type HeadFusion, type RolloutOptions } from './attention-rollout.js';
export { attentionGradient, gradientWeightedRelevance } from './attention-gradient.js';
export { occlusion, type OcclusionOptions, type OcclusionResult } from './occlusion.js';
export { upsampleBilinear } from './upsample.js';
export { channelSum, type AttributionOptions, type AttributionResult, type Target } from './support.js';
export {
  ATTRIBUTION_METHODS,
  METHOD_FAMILIES,
  attributionMethod,
  methodsInGridOrder,
  type AttributionMethodEntry,
  type DisplayHints,
  type MethodFamily,
  type MethodOutput,
  type MethodSettings,
} from './registry.js';
