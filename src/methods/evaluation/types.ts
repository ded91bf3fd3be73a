// What every attribution metric takes and what the registry says about it.
import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';

/**
 * Computes one attribution map per image (N×H×W, or N×3×H×W) for given labels: the explanation method under test,
 * re-run by the metrics that perturb the input or the model (robustness, randomisation, axiomatic).
 */
export type Explainer = (classifier: Classifier, images: Tensor, labels: number[]) => Promise<Tensor>;

/** What a metric evaluates: images, their maps and labels, and the method that made the maps. */
export interface MetricInput {
  classifier: Classifier;
  /** N×3×H×W, normalised as the classifier expects. */
  images: Tensor;
  /** The maps under test: N×H×W (one value per pixel, applied to its 3 channels) or N×3×H×W (one per channel value). */
  maps: Tensor;
  /** The class each map explains. */
  labels: number[];
  /** Re-runs the attribution method (on perturbed images, other labels or a changed model). */
  explain: Explainer;
  /** N×H×W ground truth, 1 inside the object and 0 outside: the localisation metrics need it. */
  masks?: Tensor;
  /** Images per model run (perturbed copies are batched across images); default 16. Does not change any score. */
  batchSize?: number;
  /** Called after each batch of model runs with the runs done and the total. */
  onStep?: (done: number, total: number) => void;
  /** Checked between batches: an abort rejects with its reason. */
  signal?: AbortSignal;
}

/** Quantus's evaluation categories. */
export type MetricCategory =
  'faithfulness' | 'robustness' | 'complexity' | 'randomisation' | 'axiomatic' | 'localisation';

/** An attribution metric as the registry lists it. */
export interface Metric {
  /** Display name (Quantus's). */
  name: string;
  category: MetricCategory;
  /** Whether a higher or a lower score means a better explanation. */
  direction: 'higher' | 'lower';
  /** The paper that defines it. */
  paper: string;
  /** It needs `masks` (localisation). */
  needsMasks?: boolean;
  /** The options it takes with their defaults (Quantus's); evaluate rejects any other. */
  options: Readonly<Record<string, number | boolean | string | number[] | null>>;
  /** One score per image (NaN where the score is undefined, e.g. an empty mask). */
  evaluate(input: MetricInput, options?: Record<string, unknown>): Promise<number[]>;
}
