import type { GradientRule, RuleContext } from '../types.js';
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

/** An Einsum equation with ellipses spelt out as letters: each operand's subscripts and the output's. */
function parseEinsum(ctx: RuleContext): { operands: string[]; output: string } {
  const equation = ctx.attrs.string('equation', '').replace(/\s/g, '');
  const [lhs, rhs] = equation.split('->');
  const terms = lhs.split(',');
  const spare = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'].filter(
    (c) => !equation.includes(c),
  );
  const ranks = ctx.node.input.map((x) => ctx.dims(x).length);
  const ellipsisRank = Math.max(
    0,
    ...terms.map((t, i) => (t.includes('...') ? ranks[i] - t.replace('...', '').length : 0)),
  );
  const ellipsisDims = new Map<number, number>();
  const operands = terms.map((t, i) => {
    if (!t.includes('...')) return t;
    const n = ranks[i] - (t.length - 3);
    const dims = ctx.dims(ctx.node.input[i]).slice(t.indexOf('...'), t.indexOf('...') + n);
    // Letters aligned to the right, as ellipsis dims broadcast; a size-1 dim broadcast against a larger one
    // would need a sum over it, which this rule does not do.
    dims.forEach((d, j) => {
      const at = ellipsisRank - n + j;
      const seen = ellipsisDims.get(at);
      if (seen !== undefined && seen !== d)
        unsupported(ctx, `equation '${equation}': broadcasting inside '...' is not supported`);
      ellipsisDims.set(at, d);
    });
    return t.replace('...', spare.slice(ellipsisRank - n, ellipsisRank).join(''));
  });
  let output: string;
  if (rhs !== undefined) output = rhs.replace('...', spare.slice(0, ellipsisRank).join(''));
  else {
    // Implicit output: the ellipsis, then the letters used once, in alphabetical order.
    const once = [...new Set(terms.join('').replace(/\./g, ''))]
      .filter((c) => terms.join('').split(c).length === 2)
      .sort();
    output = spare.slice(0, ellipsisRank).join('') + once.join('');
  }
  for (const t of [...operands, output])
    if (new Set(t).size !== t.length)
      unsupported(
        ctx,
        `equation '${equation}': a subscript repeated within one term (a diagonal) is not supported`,
      );
  return { operands, output };
}

// y = Σ Π operands over the letters not in the output, so d operand_i = the same contraction of the output
// gradient with the other operands, onto operand i's letters. Letters that only operand i has were summed
// away by it alone: its gradient is constant along them (computed without them, then expanded).
const einsum: GradientRule = (ctx) => {
  const { b } = ctx;
  const { operands, output } = parseEinsum(ctx);
  return ctx.node.input.map((x, i) => {
    if (!ctx.needs[i]) return undefined;
    const others = operands.filter((_, j) => j !== i);
    const elsewhere = output + others.join('');
    const kept = [...operands[i]].filter((c) => elsewhere.includes(c)).join('');
    const inputs = [ctx.grads[0]!, ...ctx.node.input.filter((_, j) => j !== i)];
    const equation = `${[output, ...others].join(',')}->${kept}`;
    const dx = b.op1('Einsum', inputs, { equation: { s: equation } });
    if (kept.length === operands[i].length) return dx;
    const missing = [...operands[i]].flatMap((c, k) => (elsewhere.includes(c) ? [] : [k]));
    const unsqueezed = b.op1('Unsqueeze', [dx, b.constInt64(missing)]);
    return b.op1('Expand', [unsqueezed, b.constInt64(ctx.dims(x))]);
  });
};

/** Rules for matrix products. */
export const linearRules: Record<string, GradientRule> = { Gemm: gemm, MatMul: matMul, Einsum: einsum };
