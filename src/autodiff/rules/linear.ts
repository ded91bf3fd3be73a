import type { GradientRule } from '../types.js';
import { unbroadcast, unsupported } from './common.js';

// Y = α·A'·B' + β·C with A' = transA ? Aᵀ : A, B' likewise.
const gemm: GradientRule = (ctx) => {
  const { b } = ctx;
  const [a, w, c] = ctx.node.input;
  const g = ctx.grads[0]!;
  const alpha = ctx.attrs.float('alpha', 1);
  const beta = ctx.attrs.float('beta', 1);
  const tA = ctx.attrs.int('transA', 0);
  const tB = ctx.attrs.int('transB', 0);
  const gemmOf = (x: string, y: string, transA: number, transB: number) =>
    b.op1('Gemm', [x, y], { alpha: { f: alpha }, transA: { i: transA }, transB: { i: transB } });
  const da = ctx.needs[0] ? (tA ? gemmOf(w, g, tB, 1) : gemmOf(g, w, 0, tB ? 0 : 1)) : undefined;
  const dw = ctx.needs[1] ? (tB ? gemmOf(g, a, 1, tA) : gemmOf(a, g, tA ? 0 : 1, 0)) : undefined;
  const dc = ctx.needs[2]
    ? unbroadcast(ctx, b.op1('Mul', [g, b.constFloat([beta], [])]), ctx.dims(ctx.node.output[0]), ctx.dims(c))
    : undefined;
  return [da, dw, dc];
};

// Batched matrix product over the last two axes: dA = g·Bᵀ, dB = Aᵀ·g, summed over broadcast batch axes.
const matMul: GradientRule = (ctx) => {
  const { b } = ctx;
  const [a, w] = ctx.node.input;
  const g = ctx.grads[0]!;
  const aDims = ctx.dims(a);
  const wDims = ctx.dims(w);
  if (aDims.length < 2 || wDims.length < 2)
    unsupported(ctx, 'gradients through 1-D MatMul operands are not supported');
  const yDims = ctx.dims(ctx.node.output[0]);
  const swapLast = (t: string, rank: number) => {
    const perm = Array.from({ length: rank }, (_, i) => i);
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
    return b.op1('Transpose', [t], { perm: { ints: perm } });
  };
  const reduceTo = (t: string, lead: number[], target: number[]) =>
    unbroadcast(ctx, t, [...lead, ...target.slice(-2)], target);
  const lead = yDims.slice(0, -2);
  const da = ctx.needs[0]
    ? reduceTo(b.op1('MatMul', [g, swapLast(w, wDims.length)]), lead, aDims)
    : undefined;
  const dw = ctx.needs[1]
    ? reduceTo(b.op1('MatMul', [swapLast(a, aDims.length), g]), lead, wDims)
    : undefined;
  return [da, dw];
};

/** Rules for matrix products. */
export const linearRules: Record<string, GradientRule> = { Gemm: gemm, MatMul: matMul };
