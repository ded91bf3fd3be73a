import type { GradientRule } from '../types.js';
import { activationRules } from './activations.js';
import { convRules } from './conv.js';
import { elementwiseRules } from './elementwise.js';
import { indexingRules } from './indexing.js';
import { linearRules } from './linear.js';
import { mathRules } from './math.js';
import { normalizationRules } from './normalization.js';
import { poolingRules } from './pooling.js';
import { reduceRules } from './reduce.js';
import { resizeRules } from './resize.js';
import { shapeRules } from './shape.js';

/** Every operator the gradient compiler can differentiate, by ONNX op type. */
export const gradientRules: Readonly<Record<string, GradientRule>> = {
  ...elementwiseRules,
  ...mathRules,
  ...activationRules,
  ...convRules,
  ...poolingRules,
  ...linearRules,
  ...reduceRules,
  ...normalizationRules,
  ...shapeRules,
  ...indexingRules,
  ...resizeRules,
};
