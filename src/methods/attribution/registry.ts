// Every attribution method netvis offers, by the name the CLI, the report, the runner and the web app know it by.
// A method is registered here once: its title, family, paper, how its map is shown, and one uniform call.
import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { ablationCam } from './ablationcam.js';
import { eigenCam } from './eigencam.js';
import { eigenGradCam } from './eigengradcam.js';
import { fullGrad } from './fullgrad.js';
import { hiResCam } from './hirescam.js';
import { layerCam } from './layercam.js';
import { scoreCam } from './scorecam.js';
import { xGradCam } from './xgradcam.js';
import { attentionGradient } from './attention-gradient.js';
import { attentionRollout, type HeadFusion } from './attention-rollout.js';
import { hasGlobalAttention, type AttentionResult } from './attention.js';
import { deconvnet } from './deconvnet.js';
import { gradCamPlusPlus } from './gradcam-plus-plus.js';
import { gradCam } from './gradcam.js';
import { gradientShap } from './gradient-shap.js';
import { guidedBackprop } from './guided-backprop.js';
import { guidedGradCam } from './guided-gradcam.js';
import { inputXGradient } from './input-x-gradient.js';
import { kernelShap } from './kernel-shap.js';
import { lime } from './lime.js';
import { integratedGradients, type IntegrationRule } from './integrated-gradients.js';
import { occlusion } from './occlusion.js';
import { rise } from './rise.js';
import { saliency } from './saliency.js';
import { smoothGrad } from './smoothgrad.js';
import type { AttributionOptions } from './support.js';
import { varGrad } from './vargrad.js';
import type { CamResult } from './cam.js';
import { epsilonAlpha2Beta1, epsilonGammaBox, epsilonPlusFlat } from '../../autodiff/composite.js';
import type { Composite } from '../../autodiff/types.js';
import { deepLift } from './deeplift.js';
import { deepLiftShap } from './deeplift-shap.js';
import { inputBounds, lrp } from './lrp.js';

/** What a method's map is made from: input gradients, a layer's activations, relevance rules, perturbed inputs, attention. */
export type MethodFamily = 'gradient' | 'cam' | 'relevance' | 'perturbation' | 'attention';

/** The families in the order a comparison shows them. */
export const METHOD_FAMILIES: readonly MethodFamily[] = [
  'gradient',
  'cam',
  'relevance',
  'perturbation',
  'attention',
];

/** The settings a caller may give any method; each method reads those it knows and has its own defaults. */
export interface MethodSettings extends AttributionOptions {
  /** CAM layer by module path or tensor name. */
  layer?: string;
  /** Samples: noisy copies (SmoothGrad, VarGrad), gradient points (GradientSHAP), model runs (KernelSHAP, LIME). */
  samples?: number;
  /** Noise σ as a fraction of the image's range (SmoothGrad, VarGrad). */
  noiseLevel?: number;
  /** Integrated Gradients path points. */
  steps?: number;
  /** Integrated Gradients' baseline, DeepLIFT's reference. */
  baseline?: 'black' | 'blur' | 'uniform';
  /** Integrated Gradients quadrature. */
  rule?: IntegrationRule;
  /** Occlusion square side, pixels. */
  window?: number;
  /** Occlusion stride, pixels. */
  stride?: number;
  /** RISE's random masks per image. */
  masks?: number;
  /** KernelSHAP's and LIME's features: 1×H×W or N×H×W integer labels (default SLIC superpixels). */
  featureMask?: Tensor;
  /** Seed of every random draw. */
  seed?: number;
  /** Attention rollout's head fusion. */
  headFusion?: HeadFusion;
  /** Attention rollout's fraction of smallest weights dropped per layer. */
  discardRatio?: number;
}

/** How a method's map is shown unless the user says otherwise. */
export interface DisplayHints {
  /** Part of a signed map shown; default 'absolute' (magnitudes). */
  sign?: 'absolute' | 'positive' | 'negative' | 'all';
  /** Blend on the image, as CAM papers show their maps; default false. */
  overlay?: boolean;
}

/** One method's maps for a batch and what to report about each image. */
export interface MethodOutput {
  /** N×3×H×W or N×H×W at the input's resolution, as the method returns them. */
  maps: Tensor;
  /** Per image: method-specific facts for JSON and sidecars (layer, completeness gap, …). */
  details: Record<string, unknown>[];
  /** Per image: a short note for a figure caption, or ''. */
  notes: string[];
}

/** An attribution method as the CLI, the report, the runner and the web app call it. */
export interface AttributionMethodEntry {
  /** The CLI name (`netvis attribute --method NAME`). */
  name: string;
  /** The name to show: the paper's. */
  title: string;
  family: MethodFamily;
  /** Where it comes from: authors and year. */
  paper: string;
  /** One sentence: what the map is. */
  description: string;
  display: DisplayHints;
  /**
   * Expected work per image at `settings`, in batched forward passes (a gradient pass counts 3): an estimate for
   * progress bars and ETAs, not a measurement. Absent: 3 (one gradient pass).
   */
  cost?(settings: MethodSettings): number;
  /** Whether the method can explain `classifier` (attention methods need global attention); absent: always. */
  available?(classifier: Classifier): Promise<boolean>;
  /** Maps of `images` (N×3×H×W, normalised) explaining `labels` (one class per image). */
  run(
    classifier: Classifier,
    images: Tensor,
    labels: number[],
    settings: MethodSettings,
  ): Promise<MethodOutput>;
}

// Work estimates for `cost`, in batched forward passes per image.
const GRADIENT_COST = 3;
// Score-CAM and Ablation-CAM run the model once per channel of their layer (512 on SqueezeNet's default).
const CHANNELS_ESTIMATE = 512;
// Occlusion's window positions on a 224×224 input.
const occlusionWindows = (window: number, stride: number) => (Math.floor((224 - window) / stride) + 1) ** 2;

/** An entry's `cost` at `settings` (see AttributionMethodEntry.cost). */
export function methodCost(entry: AttributionMethodEntry, settings: MethodSettings = {}): number {
  return entry.cost?.(settings) ?? GRADIENT_COST;
}

const blank = (labels: number[]) => ({
  details: labels.map(() => ({})),
  notes: labels.map(() => ''),
});

/** A CAM result as a method output: the layer and its size per image. */
function camOutput(r: CamResult, labels: number[]): MethodOutput {
  const [, h, w] = r.layerMaps.dims;
  return {
    maps: r.maps,
    details: labels.map(() => ({ layer: r.layer, layerSize: [h, w] })),
    notes: labels.map(() => `${r.layer}, ${h}×${w}`),
  };
}

/** An attention map as a method output: the attention layers and the patch grid per image. */
function attentionOutput(r: AttentionResult, labels: number[]): MethodOutput {
  const [, h, w] = r.layerMaps.dims;
  return {
    maps: r.maps,
    details: labels.map(() => ({ layers: r.layers, layerSize: [h, w] })),
    notes: labels.map(() => `${r.layers.length} layers, ${h}×${w}`),
  };
}

// The options every method takes, taken from the settings.
const common = ({ batchSize, onStep, signal }: MethodSettings): AttributionOptions => ({
  batchSize,
  onStep,
  signal,
});

const surrogate = (s: MethodSettings) => ({
  ...common(s),
  samples: s.samples,
  featureMask: s.featureMask,
  seed: s.seed,
});

const cam = (s: MethodSettings) => ({ ...common(s), layer: s.layer });

const noise = (s: MethodSettings) => ({
  ...common(s),
  samples: s.samples,
  noiseLevel: s.noiseLevel,
  seed: s.seed,
});

/** LRP with `composite` as a method output: the relevance reaching the input per image (of 1 at the score). */
async function lrpOutput(
  c: Classifier,
  x: Tensor,
  labels: number[],
  s: MethodSettings,
  composite: Composite,
): Promise<MethodOutput> {
  const r = await lrp(c, x, labels, { ...common(s), composite });
  return {
    maps: r.maps,
    details: r.relevanceSums.map((sum) => ({ relevanceSum: sum })),
    notes: r.relevanceSums.map((sum) => `Σ relevance ${sum.toFixed(2)}`),
  };
}

/** Every attribution method, grouped by family in the order a comparison grid shows them. */
export const ATTRIBUTION_METHODS: readonly AttributionMethodEntry[] = [
  {
    name: 'saliency',
    title: 'Saliency',
    family: 'gradient',
    paper: 'Simonyan et al. 2014',
    description: '|∂ score / ∂ pixel|, max over colour channels.',
    display: {},
    run: async (c, x, labels, s) => ({
      maps: (await saliency(c, x, labels, { batchSize: s.batchSize, signal: s.signal })).maps,
      ...blank(labels),
    }),
  },
  {
    name: 'smoothgrad',
    title: 'SmoothGrad',
    family: 'gradient',
    cost: (s) => GRADIENT_COST * (s.samples ?? 25),
    paper: 'Smilkov et al. 2017',
    description: 'the gradient averaged over noisy copies of the image (25, noise 15% of its range).',
    display: {},
    run: async (c, x, labels, s) => ({
      maps: (await smoothGrad(c, x, labels, noise(s))).maps,
      ...blank(labels),
    }),
  },
  {
    name: 'vargrad',
    title: 'VarGrad',
    family: 'gradient',
    cost: (s) => GRADIENT_COST * (s.samples ?? 25),
    paper: 'Adebayo et al. 2018',
    description: 'the variance of the gradient over noisy copies of the image (25, noise 15% of its range).',
    display: {},
    run: async (c, x, labels, s) => ({
      maps: (await varGrad(c, x, labels, noise(s))).maps,
      ...blank(labels),
    }),
  },
  {
    name: 'ig',
    title: 'Integrated Gradients',
    family: 'gradient',
    cost: (s) => GRADIENT_COST * (s.steps ?? 50),
    paper: 'Sundararajan et al. 2017',
    description: '(x − baseline) ⊙ the gradient integrated along the path from a black image to x.',
    display: {},
    run: async (c, x, labels, s) => {
      const { steps, baseline, rule, seed } = s;
      const r = await integratedGradients(c, x, labels, { ...common(s), steps, baseline, rule, seed });
      return {
        maps: r.maps,
        details: r.gaps.map((gap, i) => ({ completenessGap: gap, baselineScore: r.baselineScores[i] })),
        notes: r.gaps.map((gap) => `gap ${(gap * 100).toFixed(1)}%`),
      };
    },
  },
  {
    name: 'gradient-shap',
    title: 'GradientSHAP',
    family: 'gradient',
    cost: (s) => GRADIENT_COST * (s.samples ?? 50),
    paper: 'Lundberg & Lee 2017',
    description:
      '(x − b) ⊙ the gradient at a random point between a random baseline b (black or white) and x, averaged over 50 draws.',
    display: {},
    run: async (c, x, labels, s) => {
      const r = await gradientShap(c, x, labels, { ...common(s), samples: s.samples, seed: s.seed });
      return {
        maps: r.maps,
        details: r.expectedDeltas.map((d) => ({ expectedDelta: d })),
        notes: labels.map(() => ''),
      };
    },
  },
  {
    name: 'input-x-gradient',
    title: 'Input × Gradient',
    family: 'gradient',
    paper: 'Shrikumar et al. 2016',
    description: 'the normalised input times its gradient.',
    display: {},
    run: async (c, x, labels, s) => ({
      maps: (await inputXGradient(c, x, labels, common(s))).maps,
      ...blank(labels),
    }),
  },
  {
    name: 'guided-backprop',
    title: 'Guided Backprop',
    family: 'gradient',
    paper: 'Springenberg et al. 2015',
    description: 'gradients pass a ReLU only where its input and the gradient are positive.',
    display: {},
    run: async (c, x, labels, s) => ({
      maps: (await guidedBackprop(c, x, labels, common(s))).maps,
      ...blank(labels),
    }),
  },
  {
    name: 'deconvnet',
    title: 'Deconvnet',
    family: 'gradient',
    paper: 'Zeiler & Fergus 2014',
    description: 'gradients pass a ReLU wherever they are positive.',
    display: {},
    run: async (c, x, labels, s) => ({
      maps: (await deconvnet(c, x, labels, common(s))).maps,
      ...blank(labels),
    }),
  },
  {
    name: 'deeplift',
    title: 'DeepLIFT',
    family: 'gradient',
    paper: 'Shrikumar et al. 2017',
    description:
      '(x − reference) ⊙ multipliers from the rescale rule (Δoutput/Δinput of each nonlinearity against a black image); sums to the score difference.',
    display: {},
    run: async (c, x, labels, s) => {
      const r = await deepLift(c, x, labels, { ...common(s), baseline: s.baseline, seed: s.seed });
      return {
        maps: r.maps,
        details: r.deltas.map((delta, i) => ({
          convergenceDelta: delta,
          baselineScore: r.baselineScores[i],
        })),
        notes: labels.map(() => ''),
      };
    },
  },
  {
    name: 'deeplift-shap',
    title: 'DeepLiftSHAP',
    family: 'gradient',
    cost: () => 2 * GRADIENT_COST,
    paper: 'Lundberg & Lee 2017',
    description: 'DeepLIFT against a black and a white reference, averaged.',
    display: {},
    run: async (c, x, labels, s) => {
      const r = await deepLiftShap(c, x, labels, common(s));
      return {
        maps: r.maps,
        details: r.expectedDeltas.map((d) => ({ expectedDelta: d })),
        notes: labels.map(() => ''),
      };
    },
  },
  {
    name: 'gradcam',
    title: 'Grad-CAM',
    family: 'cam',
    paper: 'Selvaraju et al. 2017',
    description: 'the last spatial layer’s maps weighted by their mean gradient, upsampled.',
    display: { overlay: true, sign: 'positive' },
    run: async (c, x, labels, s) => camOutput(await gradCam(c, x, labels, cam(s)), labels),
  },
  {
    name: 'gradcam++',
    title: 'Grad-CAM++',
    family: 'cam',
    paper: 'Chattopadhyay et al. 2018',
    description: 'Grad-CAM with pixel-wise weights on the positive gradients.',
    display: { overlay: true, sign: 'positive' },
    run: async (c, x, labels, s) => camOutput(await gradCamPlusPlus(c, x, labels, cam(s)), labels),
  },
  {
    name: 'guided-gradcam',
    title: 'Guided Grad-CAM',
    family: 'cam',
    cost: () => 2 * GRADIENT_COST,
    paper: 'Selvaraju et al. 2017',
    description: 'Guided Backprop times Grad-CAM, pixel by pixel.',
    display: {},
    run: async (c, x, labels, s) => camOutput(await guidedGradCam(c, x, labels, cam(s)), labels),
  },
  {
    name: 'scorecam',
    title: 'Score-CAM',
    family: 'cam',
    cost: () => CHANNELS_ESTIMATE,
    paper: 'Wang et al. 2020',
    description:
      'each channel of the layer, upsampled, masks the image; the softmax of the masked images’ scores weighs the channels.',
    display: { overlay: true, sign: 'positive' },
    run: async (c, x, labels, s) => camOutput(await scoreCam(c, x, labels, cam(s)), labels),
  },
  {
    name: 'layercam',
    title: 'LayerCAM',
    family: 'cam',
    paper: 'Jiang et al. 2021',
    description: 'each position of each channel weighted by its own positive gradient, summed over channels.',
    display: { overlay: true, sign: 'positive' },
    run: async (c, x, labels, s) => camOutput(await layerCam(c, x, labels, cam(s)), labels),
  },
  {
    name: 'xgradcam',
    title: 'XGrad-CAM',
    family: 'cam',
    paper: 'Fu et al. 2020',
    description: 'Grad-CAM with each channel’s gradient averaged with its activations as weights.',
    display: { overlay: true, sign: 'positive' },
    run: async (c, x, labels, s) => camOutput(await xGradCam(c, x, labels, cam(s)), labels),
  },
  {
    name: 'hirescam',
    title: 'HiResCAM',
    family: 'cam',
    paper: 'Draelos & Carin 2020',
    description: 'the gradient times the activation, element by element, summed over channels.',
    display: { overlay: true, sign: 'positive' },
    run: async (c, x, labels, s) => camOutput(await hiResCam(c, x, labels, cam(s)), labels),
  },
  {
    name: 'eigencam',
    title: 'Eigen-CAM',
    family: 'cam',
    cost: () => 1,
    paper: 'Muhammad & Yeasin 2020',
    description: 'the layer’s activations projected on their first principal component; class-independent.',
    display: { overlay: true, sign: 'positive' },
    run: async (c, x, labels, s) => camOutput(await eigenCam(c, x, labels, cam(s)), labels),
  },
  {
    name: 'eigengradcam',
    title: 'Eigen-Grad-CAM',
    family: 'cam',
    paper: 'pytorch-grad-cam, after Muhammad & Yeasin 2020',
    description: 'the gradient ⊙ activations projected on their first principal component.',
    display: { overlay: true, sign: 'positive' },
    run: async (c, x, labels, s) => camOutput(await eigenGradCam(c, x, labels, cam(s)), labels),
  },
  {
    name: 'ablationcam',
    title: 'Ablation-CAM',
    family: 'cam',
    cost: () => CHANNELS_ESTIMATE,
    paper: 'Desai & Ramaswamy 2020',
    description: 'each channel weighted by the relative drop of the score when it is set to zero.',
    display: { overlay: true, sign: 'positive' },
    run: async (c, x, labels, s) => camOutput(await ablationCam(c, x, labels, cam(s)), labels),
  },
  {
    name: 'fullgrad',
    title: 'FullGrad',
    family: 'cam',
    paper: 'Srinivas & Fleuret 2019',
    description:
      'the input-gradient term plus every Conv bias times its gradient, each normalised and upsampled.',
    display: { overlay: true, sign: 'positive' },
    run: async (c, x, labels, s) => {
      const r = await fullGrad(c, x, labels, common(s));
      return {
        maps: r.maps,
        details: labels.map(() => ({ biasLayers: r.biasLayers.length })),
        notes: labels.map(() => `${r.biasLayers.length} bias layers`),
      };
    },
  },
  {
    name: 'lrp-epsilon-plus-flat',
    title: 'LRP EpsilonPlusFlat',
    family: 'relevance',
    paper: 'Bach et al. 2015; Kohlbrenner et al. 2020',
    description:
      'relevance propagated back from the score: flat rule on the first layer, z⁺ on convolutions, ε on dense layers.',
    display: { sign: 'all' },
    run: async (c, x, labels, s) => lrpOutput(c, x, labels, s, epsilonPlusFlat()),
  },
  {
    name: 'lrp-epsilon-gamma-box',
    title: 'LRP EpsilonGammaBox',
    family: 'relevance',
    paper: 'Montavon et al. 2019',
    description:
      'relevance propagated back from the score: zᴮ rule on the first layer (bounds of the pixel range), γ = 0.25 on convolutions, ε on dense layers.',
    display: { sign: 'all' },
    run: async (c, x, labels, s) => lrpOutput(c, x, labels, s, epsilonGammaBox(inputBounds(c.preprocessing))),
  },
  {
    name: 'lrp-epsilon-alpha2-beta1',
    title: 'LRP EpsilonAlpha2Beta1',
    family: 'relevance',
    paper: 'Bach et al. 2015',
    description: 'relevance propagated back from the score: α = 2, β = 1 on convolutions, ε on dense layers.',
    display: { sign: 'all' },
    run: async (c, x, labels, s) => lrpOutput(c, x, labels, s, epsilonAlpha2Beta1()),
  },
  {
    name: 'rollout',
    title: 'Attention Rollout',
    family: 'attention',
    cost: () => 1,
    paper: 'Abnar & Zuidema 2020',
    description:
      'how much each patch flows into the class token through every attention layer (heads averaged, residual added).',
    display: { overlay: true, sign: 'positive' },
    available: hasGlobalAttention,
    run: async (c, x, labels, s) => {
      const { headFusion, discardRatio } = s;
      return attentionOutput(
        await attentionRollout(c, x, labels, { ...common(s), headFusion, discardRatio }),
        labels,
      );
    },
  },
  {
    name: 'attention-grad',
    title: 'Gradient-weighted Attention',
    family: 'attention',
    paper: 'Chefer, Gur & Wolf 2021',
    description:
      'attention weighted by the gradient of the class score, its positive part propagated through the layers.',
    display: { overlay: true, sign: 'positive' },
    available: hasGlobalAttention,
    run: async (c, x, labels, s) => attentionOutput(await attentionGradient(c, x, labels, common(s)), labels),
  },
  {
    name: 'occlusion',
    title: 'Occlusion',
    family: 'perturbation',
    cost: (s) => occlusionWindows(s.window ?? 32, s.stride ?? 16),
    paper: 'Zeiler & Fergus 2014',
    description: 'how much the score drops when a grey square (32 px) hides each region; signed.',
    display: { sign: 'all' },
    run: async (c, x, labels, s) => {
      const r = await occlusion(c, x, labels, { ...common(s), window: s.window, stride: s.stride });
      return {
        maps: r.maps,
        details: labels.map(() => ({ positions: r.positions })),
        notes: labels.map(() => ''),
      };
    },
  },
  {
    name: 'kernel-shap',
    title: 'KernelSHAP',
    family: 'perturbation',
    cost: (s) => s.samples ?? 500,
    paper: 'Lundberg & Lee 2017',
    description:
      'Shapley values of superpixels, from a weighted linear regression on random coalitions (absent superpixels grey); signed.',
    display: { sign: 'all' },
    run: async (c, x, labels, s) => {
      const r = await kernelShap(c, x, labels, surrogate(s));
      return {
        maps: r.maps,
        details: r.gaps.map((gap, i) => ({
          features: r.features[i],
          baselineScore: r.baselineScores[i],
          completenessGap: gap,
        })),
        notes: r.features.map((m) => `${m} superpixels`),
      };
    },
  },
  {
    name: 'lime',
    title: 'LIME',
    family: 'perturbation',
    cost: (s) => s.samples ?? 500,
    paper: 'Ribeiro et al. 2016',
    description:
      'a sparse linear model of the score from which superpixels are present, on random images; signed.',
    display: { sign: 'all' },
    run: async (c, x, labels, s) => {
      const r = await lime(c, x, labels, surrogate(s));
      return {
        maps: r.maps,
        details: r.features.map((m) => ({ features: m })),
        notes: r.features.map((m) => `${m} superpixels`),
      };
    },
  },
  {
    name: 'rise',
    title: 'RISE',
    family: 'perturbation',
    cost: (s) => s.masks ?? 4000,
    paper: 'Petsiuk et al. 2018',
    description:
      'the class probability on randomly masked copies, averaged per pixel over the masks that keep it.',
    display: { overlay: true, sign: 'positive' },
    run: async (c, x, labels, s) => ({
      maps: (await rise(c, x, labels, { ...common(s), masks: s.masks, seed: s.seed })).maps,
      ...blank(labels),
    }),
  },
];

/** Every registered method, grouped by family (gradient, CAM, relevance, perturbation, attention): a grid's order. */
export function methodsInGridOrder(): AttributionMethodEntry[] {
  const rank = (m: AttributionMethodEntry) => METHOD_FAMILIES.indexOf(m.family);
  return [...ATTRIBUTION_METHODS].sort((a, b) => rank(a) - rank(b));
}

/** The method registered under `name`, or undefined. */
export function attributionMethod(name: string): AttributionMethodEntry | undefined {
  return ATTRIBUTION_METHODS.find((m) => m.name === name);
}

/** The methods that can explain `classifier` (`available`), in grid order. */
export async function methodsFor(classifier: Classifier): Promise<AttributionMethodEntry[]> {
  const usable = await Promise.all(methodsInGridOrder().map((m) => m.available?.(classifier) ?? true));
  return methodsInGridOrder().filter((_, i) => usable[i]);
}
