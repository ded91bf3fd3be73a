import { ModelError } from '../../onnx/proto.js';
import type { RuleContext } from '../types.js';

/** Sums `g` (of dims `gDims`) over the axes that numpy broadcasting expanded from `targetDims`. */
export function unbroadcast(ctx: RuleContext, g: string, gDims: number[], targetDims: number[]): string {
  if (gDims.join() === targetDims.join()) return g;
  const lead = gDims.length - targetDims.length;
  const axes = gDims
    .map((_, i) => i)
    .filter((i) => i < lead || (targetDims[i - lead] === 1 && gDims[i] !== 1));
  const summed = axes.length
    ? ctx.b.op1('ReduceSum', [g, ctx.b.constInt64(axes)], { keepdims: { i: 1 } })
    : g;
  return ctx.b.op1('Reshape', [summed, ctx.b.constInt64(targetDims)]);
}

/** The gradient of a broadcasting binary op's input `i` from its share `share` of the output gradient. */
export function binaryInputGrad(ctx: RuleContext, i: number, share: () => string): string | undefined {
  if (!ctx.needs[i]) return undefined;
  return unbroadcast(ctx, share(), ctx.dims(ctx.node.output[0]), ctx.dims(ctx.node.input[i]));
}

/**
 * The gradient of an op in which every output element copies one input element:
 * `source[j]` is the flat input index output element j came from, or -1 for none (padding).
 * Gradients of repeated sources add up (ScatterElements with reduction=add).
 */
export function scatterBack(ctx: RuleContext, g: string, source: Int32Array, inputDims: number[]): string {
  const b = ctx.b;
  const inputSize = inputDims.reduce((a, c) => a * c, 1);
  const outIdx: number[] = [];
  const inIdx: number[] = [];
  for (let j = 0; j < source.length; j++) {
    if (source[j] >= 0) {
      outIdx.push(j);
      inIdx.push(source[j]);
    }
  }
  let flat = b.op1('Reshape', [g, b.constInt64([-1])]);
  if (outIdx.length !== source.length)
    flat = b.op1('Gather', [flat, b.constInt64(outIdx)], { axis: { i: 0 } });
  const summed = b.op1('ScatterElements', [b.zeros([inputSize]), b.constInt64(inIdx), flat], {
    axis: { i: 0 },
    reduction: { s: 'add' },
  });
  return b.op1('Reshape', [summed, b.constInt64(inputDims)]);
}

/** Row-major strides of dims. */
export function stridesOf(dims: number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/**
 * Builds a source map for an op whose output element at multi-index `o` reads input element `at(o)`
 * (a per-axis multi-index, or null for none).
 */
export function sourceMap(
  outDims: number[],
  inputDims: number[],
  at: (o: number[]) => number[] | null,
): Int32Array {
  const size = outDims.reduce((a, c) => a * c, 1);
  const inStrides = stridesOf(inputDims);
  const o = new Array<number>(outDims.length).fill(0);
  const map = new Int32Array(size);
  for (let j = 0; j < size; j++) {
    const src = at(o);
    map[j] = src ? src.reduce((acc, v, k) => acc + v * inStrides[k], 0) : -1;
    for (let k = outDims.length - 1; k >= 0; k--) {
      if (++o[k] < outDims[k]) break;
      o[k] = 0;
    }
  }
  return map;
}

/** Normalises a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Throws a ModelError naming the node when a gradient would be needed where netvis cannot give one. */
export function unsupported(ctx: RuleContext, what: string): never {
  throw new ModelError(`${ctx.node.opType} node '${ctx.node.name}': ${what}`);
}

/** Elementwise activation functions as ONNX writes them (one data input; any other input a constant parameter). */
export const ACTIVATION_OPS: readonly string[] = [
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Elu',
  'Selu',
  'Celu',
  'Gelu',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Softplus',
  'Softsign',
  'Tanh',
  'Clip',
  'Mish',
  'ThresholdedRelu',
  'Shrink',
];
