// DeepLIFT's rescale rule (Shrikumar et al. 2017) as Captum's DeepLift computes it. The graph runs one batch of 2N
// rows: N inputs, then their N references (row i + N is row i's reference), so each nonlinearity sees x and x₀ side
// by side and its multiplier is Δy/Δx between the two halves; both halves get the same multiplier, as in Captum.
// Where |Δx| < 1e-10 (Captum's eps) the true gradient stands in.
import type { RuleContext } from '../types.js';
import { ACTIVATION_OPS } from './common.js';
import { gradientRules } from './index.js';

/** Captum's threshold below which Δx counts as no change. */
const EPS = 1e-10;

/** The two halves of a batch-first tensor (of dims `dims`, default its own): rows of the inputs and of the references. */
function halves(ctx: RuleContext, t: string, dims = ctx.dims(t)): [string, string] {
  const n2 = dims[0];
  if (n2 % 2 !== 0)
    throw new RangeError(
      `rescale rule on ${ctx.node.opType} node '${ctx.node.name}': batch of ${n2}, expected inputs and references (2N rows)`,
    );
  const [top, bottom] = ctx.b.op('Split', [t, ctx.b.constInt64([n2 / 2, n2 / 2])], { axis: { i: 0 } }, 2);
  return [top, bottom];
}

const twice = (ctx: RuleContext, t: string) => ctx.b.op1('Concat', [t, t], { axis: { i: 0 } });

/** Δx = input − reference, repeated for both halves. */
function inputChange(ctx: RuleContext): string {
  const [x, x0] = halves(ctx, ctx.node.input[0]);
  return twice(ctx, ctx.b.op1('Sub', [x, x0]));
}

/** `multiplied` where |Δx| ≥ eps, the node's true input gradient elsewhere. */
function orGradient(ctx: RuleContext, dx: string, multiplied: string): (string | undefined)[] {
  const { b } = ctx;
  const truth = gradientRules[ctx.node.opType](ctx);
  const same = b.op1('Less', [b.op1('Abs', [dx]), b.constFloat([EPS], [])]);
  return [b.op1('Where', [same, truth[0]!, multiplied]), ...truth.slice(1).map(() => undefined)];
}

// Elementwise y = f(x): g ⊙ Δy / Δx.
function elementwise(ctx: RuleContext): (string | undefined)[] {
  const { b } = ctx;
  const [y, y0] = halves(ctx, ctx.node.output[0]);
  const dx = inputChange(ctx);
  const dy = twice(ctx, b.op1('Sub', [y, y0]));
  return orGradient(ctx, dx, b.op1('Div', [b.op1('Mul', [ctx.grads[0]!, dy]), dx]));
}

// MaxPool (Captum's rule, with its unpooling made a sum where windows overlap): with m = max(y, y₀), the input rows
// send g ⊙ (m − y₀) to their window's argmax and the reference rows g₀ ⊙ (y − m) to theirs, adding up where windows
// share an argmax; the sum of both, over Δx, is each input element's multiplier.
function maxPool(ctx: RuleContext): (string | undefined)[] {
  const { b } = ctx;
  const xDims = ctx.dims(ctx.node.input[0]);
  const [y, y0] = halves(ctx, ctx.node.output[0]);
  const m = b.op1('Max', [y, y0]);
  const dy = b.op1('Concat', [b.op1('Sub', [m, y0]), b.op1('Sub', [y, m])], { axis: { i: 0 } });
  const flat = (t: string) => b.op1('Reshape', [t, b.constInt64([-1])]);
  const size = xDims.reduce((a, c) => a * c, 1);
  const scattered = b.op1(
    'ScatterElements',
    [b.zeros([size]), flat(ctx.addOutput(1)), flat(b.op1('Mul', [ctx.grads[0]!, dy]))],
    { axis: { i: 0 }, reduction: { s: 'add' } },
  );
  const [s, s0] = halves(ctx, b.op1('Reshape', [scattered, b.constInt64(xDims)]), xDims);
  const dx = inputChange(ctx);
  return orGradient(ctx, dx, b.op1('Div', [twice(ctx, b.op1('Add', [s, s0])), dx]));
}

/** Operators the rescale rule applies to: elementwise nonlinearities and MaxPool. */
const RESCALE_OPS: readonly string[] = [...ACTIVATION_OPS, 'MaxPool'];

/** DeepLIFT's rescale rule. */
export const deepLiftRules = {
  rescale: {
    ops: RESCALE_OPS,
    emit: (ctx: RuleContext) => (ctx.node.opType === 'MaxPool' ? maxPool(ctx) : elementwise(ctx)),
  },
};
