// Backward rules a composite can choose in place of an operator's gradient, by kind (types.ts `Rule`).
import type { onnx } from '../../onnx/proto.js';
import type { Rule, RuleContext } from '../types.js';
import { deepLiftRules } from './deeplift.js';
import { guidedRules } from './guided.js';
import { gradientRules } from './index.js';
import { lrpRules } from './lrp.js';

/** A rule kind's operators, when it applies to a node of one of them (default: always), and the nodes it emits. */
export interface ModifiedRule<R extends Rule = Rule> {
  ops: readonly string[];
  /** `needs`: which of the node's inputs carry a gradient. */
  applies?(node: onnx.NodeProto, needs: boolean[]): boolean;
  emit(ctx: RuleContext, rule: R): (string | undefined)[];
}

/** Every rule kind. */
export const modifiedRules: { readonly [K in Rule['kind']]: ModifiedRule<Extract<Rule, { kind: K }>> } = {
  gradient: { ops: Object.keys(gradientRules), emit: (ctx) => gradientRules[ctx.node.opType](ctx) },
  ...guidedRules,
  ...lrpRules,
  ...deepLiftRules,
};

/** The input gradients (or relevances) `rule` gives for the node in `ctx`. */
export function emitRule(ctx: RuleContext, rule: Rule): (string | undefined)[] {
  return (modifiedRules[rule.kind] as ModifiedRule).emit(ctx, rule);
}
