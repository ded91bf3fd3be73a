import type { GradientRule, RuleContext } from '../types.js';
import { binaryInputGrad, normAxis, unsupported } from './common.js';

// The rules read index tensors at run time, so indices computed from the input (ArgMax, TopK) are right for
// every input, not only for the one the shapes were learnt from.

function refuseIndexGradient(ctx: RuleContext, index: number): void {
  if (ctx.needs[index]) unsupported(ctx, 'gradients with respect to indices do not exist');
}

/** int64 `indices` with negative entries wrapped by `bounds` (broadcast against them). */
function wrapped(ctx: RuleContext, indices: string, bounds: number[], boundDims: number[]): string {
  const { b } = ctx;
  const idx = b.op1('Cast', [indices], { to: { i: 7 } });
  const negative = b.op1('Less', [idx, b.constInt64([0], [])]);
  return b.op1('Where', [negative, b.op1('Add', [idx, b.constInt64(bounds, boundDims)]), idx]);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// out = data[..., indices, ...] along `axis`: move the index axes of g to the front and the data axis of the
// gradient likewise, then ScatterND with reduction=add sums the gradient of repeated indices.
const gather: GradientRule = (ctx) => {
  const { b } = ctx;
  refuseIndexGradient(ctx, 1);
  const [data, indices] = ctx.node.input;
  const dataDims = ctx.dims(data);
  const rank = dataDims.length;
  const axis = normAxis(ctx.attrs.int('axis', 0), rank);
  const q = ctx.dims(indices).length;
  const count = ctx.dims(indices).reduce((a, c) => a * c, 1);
  const rest = [...dataDims.slice(0, axis), ...dataDims.slice(axis + 1)];
  // g: [pre, I..., post] → [I..., pre, post] → [|I|, pre, post]
  const gPerm = [
    ...range(q).map((i) => axis + i),
    ...range(axis),
    ...range(rank - 1 - axis).map((i) => axis + q + i),
  ];
  const updates = b.op1('Reshape', [
    b.op1('Transpose', [ctx.grads[0]!], { perm: { ints: gPerm } }),
    b.constInt64([count, ...rest]),
  ]);
  const idx = b.op1('Reshape', [wrapped(ctx, indices, [dataDims[axis]], []), b.constInt64([count, 1])]);
  const summed = b.op1('ScatterND', [b.zeros([dataDims[axis], ...rest]), idx, updates], {
    reduction: { s: 'add' },
  });
  // [axis, pre, post] → [pre, axis, post]
  const back = [...range(axis).map((i) => i + 1), 0, ...range(rank - 1 - axis).map((i) => axis + 1 + i)];
  return [b.op1('Transpose', [summed], { perm: { ints: back } }), undefined];
};

const gatherElements: GradientRule = (ctx) => {
  const { b } = ctx;
  refuseIndexGradient(ctx, 1);
  const [data, indices] = ctx.node.input;
  const dataDims = ctx.dims(data);
  const axis = normAxis(ctx.attrs.int('axis', 0), dataDims.length);
  const idx = wrapped(ctx, indices, [dataDims[axis]], []);
  const dx = b.op1('ScatterElements', [b.zeros(dataDims), idx, ctx.grads[0]!], {
    axis: { i: axis },
    reduction: { s: 'add' },
  });
  return [dx, undefined];
};

// Index tuples of length k address the first k axes of data.
const gatherND: GradientRule = (ctx) => {
  const { b } = ctx;
  refuseIndexGradient(ctx, 1);
  if (ctx.attrs.int('batch_dims', 0) !== 0) unsupported(ctx, 'batch_dims > 0 is not supported');
  const [data, indices] = ctx.node.input;
  const dataDims = ctx.dims(data);
  const k = ctx.dims(indices).at(-1)!;
  const idx = wrapped(ctx, indices, dataDims.slice(0, k), [k]);
  const dx = b.op1('ScatterND', [b.zeros(dataDims), idx, ctx.grads[0]!], { reduction: { s: 'add' } });
  return [dx, undefined];
};

// y = data with the addressed slices replaced by (or, with reduction=add, increased by) updates.
const scatterND: GradientRule = (ctx) => {
  const { b } = ctx;
  refuseIndexGradient(ctx, 1);
  const [data, indices, updates] = ctx.node.input;
  const g = ctx.grads[0]!;
  const reduction = ctx.attrs.string('reduction', 'none');
  if (reduction !== 'none' && reduction !== 'add')
    unsupported(ctx, `reduction '${reduction}' is not supported`);
  const dataDims = ctx.dims(data);
  const k = ctx.dims(indices).at(-1)!;
  const idx = wrapped(ctx, indices, dataDims.slice(0, k), [k]);
  const dData = !ctx.needs[0]
    ? undefined
    : reduction === 'add'
      ? g
      : b.op1('ScatterND', [g, idx, b.zeros(ctx.dims(updates))]);
  const dUpdates = ctx.needs[2] ? b.op1('GatherND', [g, idx]) : undefined;
  return [dData, undefined, dUpdates];
};

const where: GradientRule = (ctx) => {
  const { b } = ctx;
  const cond = ctx.node.input[0];
  const g = ctx.grads[0]!;
  const zero = b.constFloat([0], []);
  return [
    undefined,
    binaryInputGrad(ctx, 1, () => b.op1('Where', [cond, g, zero])),
    binaryInputGrad(ctx, 2, () => b.op1('Where', [cond, zero, g])),
  ];
};

/** Rules for ops that read or write elements at positions given by an index tensor or a mask. */
export const indexingRules: Record<string, GradientRule> = {
  Gather: gather,
  GatherElements: gatherElements,
  GatherND: gatherND,
  ScatterND: scatterND,
  Where: where,
};
