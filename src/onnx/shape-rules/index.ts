import type { ShapeRule } from './common.js';
import { elementwiseShapeRules } from './elementwise.js';
import { nnShapeRules } from './nn.js';
import { shapeShapeRules } from './shape.js';

/** Every ai.onnx operator whose outputs' types, dims (and static values) netvis infers, by op type. */
export const shapeRules: Readonly<Record<string, ShapeRule>> = {
  ...elementwiseShapeRules,
  ...shapeShapeRules,
  ...nnShapeRules,
};
