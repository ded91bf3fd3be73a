import { gaussianBlur, roll } from '../../image/filters.js';
import { validRange } from '../../image/preprocess.js';
import type { Classifier } from '../../model/classifier.js';
import { l2Norm, type Tensor } from '../../tensor.js';
import { oneHot, resolveClasses, type ClassRef } from '../common.js';
import { Random } from '../random.js';

/** Options of class visualization, with CS231n's defaults. */
export interface ClassVisualizationOptions {
  /** Gradient ascent steps. Default 100. */
  iterations?: number;
  /** λ of the `s_y(I) − λ‖I‖₂²` objective. Default 1e-3. */
  l2Reg?: number;
  /** Step length in normalised units: `I += lr · g / ‖g‖₂`. Default 25. */
  learningRate?: number;
  /** Blur every this many steps (at t % blurEvery == 0). Default 10. */
  blurEvery?: number;
  /** Gaussian blur sigma in pixels. Default 0.5. */
  blurSigma?: number;
  /** Largest random jitter (roll) in pixels along each axis. Default 16. */
  maxJitter?: number;
  /** Seed of the starting noise and the jitter. Default 0. */
  seed?: number;
  /** Image side in pixels. Default: the classifier's crop size (224). */
  size?: number;
  /** Keep a frame at the first step, every `showEvery` steps and at the last. Default 25. */
  showEvery?: number;
  /** Called after each step with the 1-based step, the image and the objective's value. */
  onStep?: (iteration: number, image: Tensor, score: number) => void;
  signal?: AbortSignal;
}

/** The final image, kept frames and the objective's history. */
export interface ClassVisualizationResult {
  target: number;
  /** 1×3×H×W, normalised like the classifier's input. */
  image: Tensor;
  frames: { iteration: number; image: Tensor }[];
  /** The objective `s_y(I) − λ‖I‖₂²` at each step (of the jittered image). */
  scores: number[];
}

/**
 * Class visualization (Simonyan et al. 2014; Yosinski et al. 2015, as in CS231n): from seeded N(0, 1) noise,
 * gradient ascent on `s_y(I) − λ‖I‖₂²` with random jitter, clamping to valid pixels and periodic blur.
 */
export async function classVisualization(
  classifier: Classifier,
  target: ClassRef,
  options: ClassVisualizationOptions = {},
): Promise<ClassVisualizationResult> {
  const {
    iterations = 100,
    l2Reg = 1e-3,
    learningRate = 25,
    blurEvery = 10,
    blurSigma = 0.5,
    maxJitter = 16,
    seed = 0,
    size = classifier.preprocessing.crop,
    showEvery = 25,
    onStep,
    signal,
  } = options;
  const [y] = resolveClasses(classifier, [target]);
  const rng = new Random(seed);
  const dims = [1, 3, size, size];
  let img: Tensor = { data: rng.normals(3 * size * size), dims };
  const seedRow = oneHot([y], classifier.numClasses);
  const ranges = validRange(classifier.preprocessing);
  const plane = size * size;
  const frames: ClassVisualizationResult['frames'] = [];
  const scores: number[] = [];
  for (let t = 0; t < iterations; t++) {
    signal?.throwIfAborted();
    const ox = rng.int(0, maxJitter);
    const oy = rng.int(0, maxJitter);
    const jittered = roll(img, ox, oy);
    const { logits, grad } = await classifier.inputGradient(jittered, seedRow);
    const norm2 = l2Norm(jittered.data) ** 2;
    scores.push(logits.data[y] - l2Reg * norm2);
    // d/dI (s_y − λ‖I‖²) = ∇s_y − 2λI
    const g = grad.data;
    for (let i = 0; i < g.length; i++) g[i] -= 2 * l2Reg * jittered.data[i];
    const step = learningRate / l2Norm(g);
    for (let i = 0; i < g.length; i++) jittered.data[i] += step * g[i];
    img = roll(jittered, -ox, -oy);
    for (let c = 0; c < 3; c++) {
      const [lo, hi] = ranges[c];
      for (let i = c * plane; i < (c + 1) * plane; i++) img.data[i] = Math.min(hi, Math.max(lo, img.data[i]));
    }
    if (t % blurEvery === 0) img = gaussianBlur(img, blurSigma);
    if (t === 0 || (t + 1) % showEvery === 0 || t === iterations - 1) {
      frames.push({ iteration: t + 1, image: { data: img.data.slice(), dims } });
    }
    onStep?.(t + 1, img, scores[t]);
  }
  return { target: y, image: img, frames, scores };
}
