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
export { gradCam } from './gradcam.js';
export { gradCamPlusPlus } from './gradcam-plus-plus.js';
export { guidedGradCam, type GuidedGradCamResult } from './guided-gradcam.js';
export { findCamLayer, type CamOptions, type CamResult } from './cam.js';
export { findAttentionLayers, type AttentionLayer, type AttentionResult } from './attention.js';
export { attentionRollout, rollout, type HeadFusion, type RolloutOptions } from './attention-rollout.js';
export { attentionGradient, gradientWeightedRelevance } from './attention-gradient.js';
export { occlusion, type OcclusionOptions, type OcclusionResult } from './occlusion.js';
export { upsampleBilinear } from './upsample.js';
export { channelSum, type AttributionOptions, type AttributionResult, type Target } from './support.js';
