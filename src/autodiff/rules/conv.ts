import type { Attributes } from '../../onnx/attributes.js';
import type { GradientRule, RuleContext } from '../types.js';
import { unsupported } from './common.js';

/** Spatial geometry of a Conv or pooling window: per spatial axis. */
export interface WindowGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Begin pads then end pads, as ONNX lays them out. */
  pads: number[];
}

/** Reads kernel, strides, dilations and explicit pads (resolving auto_pad) for input spatial dims `x` and output `y`. */
export function windowGeometry(
  attrs: Attributes,
  kernel: number[],
  x: number[],
  y: number[],
): WindowGeometry {
  const r = kernel.length;
  const strides = attrs.ints('strides', new Array<number>(r).fill(1));
  const dilations = attrs.ints('dilations', new Array<number>(r).fill(1));
  const autoPad = attrs.string('auto_pad', 'NOTSET');
  let pads = attrs.ints('pads', new Array<number>(2 * r).fill(0));
  if (autoPad === 'VALID') pads = new Array<number>(2 * r).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array<number>(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const total = Math.max(0, (y[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - x[i]);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + r] = total - pads[i];
    }
  }
  return { kernel, strides, dilations, pads };
}

/**
 * The transpose of a strided window op: ConvTranspose of `g` with weights `w`, sized to give exactly the
 * input's spatial dims `x` (output_padding makes up floor-division remainders; extra end padding crops
 * windows that ceil_mode let run past the input).
 */
export function convTransposeTo(
  ctx: RuleContext,
  g: string,
  w: string,
  geo: WindowGeometry,
  x: number[],
  y: number[],
  group = 1,
): string {
  const r = x.length;
  const pads = [...geo.pads];
  const outputPadding = new Array<number>(r).fill(0);
  for (let i = 0; i < r; i++) {
    const natural =
      geo.strides[i] * (y[i] - 1) + (geo.kernel[i] - 1) * geo.dilations[i] + 1 - pads[i] - pads[i + r];
    const extra = x[i] - natural;
    if (extra >= 0) outputPadding[i] = extra;
    else pads[i + r] -= extra;
  }
  return ctx.b.op1('ConvTranspose', [g, w], {
    kernel_shape: { ints: geo.kernel },
    strides: { ints: geo.strides },
    dilations: { ints: geo.dilations },
    pads: { ints: pads },
    output_padding: { ints: outputPadding },
    group: { i: group },
  });
}

/**
 * Conv's input gradient when every stride is 1, as a Conv: `g` convolved with the weights flipped in space and
 * with input and output channels swapped within each group, padded by (k − 1)·d − p per side. Same numbers as
 * ConvTranspose, but ONNX Runtime's Conv kernels are faster (SqueezeNet's N=1 gradient: 0.78–0.93× the time, interleaved).
 * Undefined when a stride is not 1 or a pad exceeds the dilated kernel (a ConvTranspose is needed).
 */
function stride1Transpose(
  ctx: RuleContext,
  g: string,
  w: string,
  geo: WindowGeometry,
  group: number,
): string | undefined {
  const r = geo.kernel.length;
  if (geo.strides.some((s) => s !== 1)) return undefined;
  const reach = geo.kernel.map((k, i) => (k - 1) * geo.dilations[i]);
  const pads = geo.pads.map((p, i) => reach[i % r] - p);
  if (pads.some((p) => p < 0)) return undefined;
  const spatial = Array.from({ length: r }, (_, i) => i + 2);
  let swapped: string;
  if (group === 1) swapped = ctx.b.op1('Transpose', [w], { perm: { ints: [1, 0, ...spatial] } });
  else {
    // (M, C/g, k...) → (g, M/g, C/g, k...) → (g, C/g, M/g, k...) → (C, M/g, k...)
    const [m, cg] = ctx.dims(w);
    const grouped = ctx.b.op1('Reshape', [w, ctx.b.constInt64([group, m / group, cg, ...geo.kernel])]);
    const t = ctx.b.op1('Transpose', [grouped], { perm: { ints: [0, 2, 1, ...spatial.map((a) => a + 1)] } });
    swapped = ctx.b.op1('Reshape', [t, ctx.b.constInt64([group * cg, m / group, ...geo.kernel])]);
  }
  const flipped = spatial.filter((a) => geo.kernel[a - 2] > 1);
  const wt =
    flipped.length === 0
      ? swapped
      : ctx.b.op1('Slice', [
          swapped,
          ctx.b.constInt64(flipped.map(() => -1)),
          ctx.b.constInt64(flipped.map(() => Number.MIN_SAFE_INTEGER)),
          ctx.b.constInt64(flipped),
          ctx.b.constInt64(flipped.map(() => -1)),
        ]);
  return ctx.b.op1('Conv', [g, wt], {
    kernel_shape: { ints: geo.kernel },
    dilations: { ints: geo.dilations },
    pads: { ints: pads },
    group: { i: group },
  });
}

// Conv's input gradient is ConvTranspose with the same weights (the weight layout (M, C/group, k...) reads as
// ConvTranspose's: in = M, out/group = C/group, k...), or a Conv with swapped, flipped weights when strides are 1.
const conv: GradientRule = (ctx) => {
  if (ctx.needs[1] || ctx.needs[2])
    unsupported(ctx, 'gradients with respect to weights or bias are not supported');
  const [x, w] = ctx.node.input;
  const xs = ctx.dims(x).slice(2);
  const ys = ctx.dims(ctx.node.output[0]).slice(2);
  const kernel = ctx.attrs.ints('kernel_shape', ctx.dims(w).slice(2));
  const geo = windowGeometry(ctx.attrs, kernel, xs, ys);
  const group = ctx.attrs.int('group', 1);
  const g = ctx.grads[0]!;
  return [stride1Transpose(ctx, g, w, geo, group) ?? convTransposeTo(ctx, g, w, geo, xs, ys, group)];
};

/** Rules for convolutions. */
export const convRules: Record<string, GradientRule> = { Conv: conv };
