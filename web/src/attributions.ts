// The library's attribution methods as the page offers them: one H×W map per image and class, reduced from the
// method's N×3×H×W output as `netvis attribute` draws it (channels summed, of absolute values unless signed).
import { deconvnet } from '../../src/methods/attribution/deconvnet.js';
import { gradCamPlusPlus } from '../../src/methods/attribution/gradcam-plus-plus.js';
import { gradCam } from '../../src/methods/attribution/gradcam.js';
import { guidedBackprop } from '../../src/methods/attribution/guided-backprop.js';
import { guidedGradCam } from '../../src/methods/attribution/guided-gradcam.js';
import { inputXGradient } from '../../src/methods/attribution/input-x-gradient.js';
import { integratedGradients } from '../../src/methods/attribution/integrated-gradients.js';
import { occlusion } from '../../src/methods/attribution/occlusion.js';
import { saliency } from '../../src/methods/attribution/saliency.js';
import { smoothGrad } from '../../src/methods/attribution/smoothgrad.js';
import { channelSum, type AttributionOptions } from '../../src/methods/attribution/support.js';
import { varGrad } from '../../src/methods/attribution/vargrad.js';
import type { Classifier } from '../../src/model/classifier.js';
import type { Tensor } from '../../src/tensor.js';
import type { MethodInfo } from './protocol.js';

type Progress = Pick<AttributionOptions, 'onStep' | 'signal'>;

export interface AttributionMethod extends MethodInfo {
  /** The method's maps (N×3×H×W or N×H×W) explaining class `label` of the 1×3×H×W image `x`. */
  maps(classifier: Classifier, x: Tensor, label: number, progress: Progress): Promise<Tensor>;
}

// One image at a time: gradient graphs compile per batch shape, and compiling costs more in the page than batching
// saves. Occlusion runs forward passes only, which need no compiling.
const ONE = { batchSize: 1 };

// Single-gradient methods first, then the CAMs, then those that run many inputs: side by side, maps arrive in this
// order, the quick ones first.
export const ATTRIBUTION_METHODS: readonly AttributionMethod[] = [
  {
    id: 'saliency',
    label: 'Saliency',
    description: 'Simonyan et al. 2014: |∂ score / ∂ pixel|, max over colour channels.',
    signed: false,
    maps: async (c, x, label) => (await saliency(c, x, [label], ONE)).maps,
  },
  {
    id: 'input-x-gradient',
    label: 'Input × Gradient',
    description: 'Shrikumar et al. 2016: the normalised input times its gradient.',
    signed: false,
    maps: async (c, x, label, p) => (await inputXGradient(c, x, label, { ...ONE, ...p })).maps,
  },
  {
    id: 'guided-backprop',
    label: 'Guided Backprop',
    description:
      'Springenberg et al. 2015: gradients pass a ReLU only where its input and the gradient are positive.',
    signed: false,
    maps: async (c, x, label, p) => (await guidedBackprop(c, x, label, { ...ONE, ...p })).maps,
  },
  {
    id: 'deconvnet',
    label: 'Deconvnet',
    description: 'Zeiler & Fergus 2014: gradients pass a ReLU wherever they are positive.',
    signed: false,
    maps: async (c, x, label, p) => (await deconvnet(c, x, label, { ...ONE, ...p })).maps,
  },
  {
    id: 'gradcam',
    label: 'Grad-CAM',
    description:
      'Selvaraju et al. 2017: the last conv layer’s maps weighted by their mean gradient, upsampled.',
    signed: false,
    maps: async (c, x, label, p) => (await gradCam(c, x, label, { ...ONE, ...p })).maps,
  },
  {
    id: 'gradcam++',
    label: 'Grad-CAM++',
    description: 'Chattopadhyay et al. 2018: Grad-CAM with pixel-wise weights on the positive gradients.',
    signed: false,
    maps: async (c, x, label, p) => (await gradCamPlusPlus(c, x, label, { ...ONE, ...p })).maps,
  },
  {
    id: 'guided-gradcam',
    label: 'Guided Grad-CAM',
    description: 'Selvaraju et al. 2017: Guided Backprop times Grad-CAM, pixel by pixel.',
    signed: false,
    maps: async (c, x, label, p) => (await guidedGradCam(c, x, label, { ...ONE, ...p })).maps,
  },
  {
    id: 'smoothgrad',
    label: 'SmoothGrad',
    description: 'Smilkov et al. 2017: the gradient averaged over 25 noisy copies of the image.',
    signed: false,
    maps: async (c, x, label, p) => (await smoothGrad(c, x, label, { ...ONE, ...p })).maps,
  },
  {
    id: 'vargrad',
    label: 'VarGrad',
    description: 'Adebayo et al. 2018: the variance of the gradient over 25 noisy copies of the image.',
    signed: false,
    maps: async (c, x, label, p) => (await varGrad(c, x, label, { ...ONE, ...p })).maps,
  },
  {
    id: 'ig',
    label: 'Integrated Gradients',
    description:
      'Sundararajan et al. 2017: (x − black) ⊙ the gradient integrated along the path from black to x.',
    signed: false,
    maps: async (c, x, label, p) => (await integratedGradients(c, x, label, { ...ONE, ...p })).maps,
  },
  {
    id: 'occlusion',
    label: 'Occlusion',
    description:
      'Zeiler & Fergus 2014: how much the score drops when a 32 px square hides each region (red).',
    signed: true,
    maps: async (c, x, label, p) => (await occlusion(c, x, label, p)).maps,
  },
];

/** A method's map for one image as H×W: channels summed (of absolute values, unless the method is signed). */
export async function attributionMap(
  method: AttributionMethod,
  classifier: Classifier,
  x: Tensor,
  label: number,
  progress: Progress,
): Promise<Float32Array> {
  return channelSum(await method.maps(classifier, x, label, progress), !method.signed).data;
}
