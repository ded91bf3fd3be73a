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

// Conv's input gradient is ConvTranspose with the same weights; the weight layout (M, C/group, k...)
// reads as ConvTranspose's (in = M, out/group = C/group, k...).
const conv: GradientRule = (ctx) => {
  if (ctx.needs[1] || ctx.needs[2])
    unsupported(ctx, 'gradients with respect to weights or bias are not supported');
  const [x, w] = ctx.node.input;
  const xs = ctx.dims(x).slice(2);
  const ys = ctx.dims(ctx.node.output[0]).slice(2);
  const kernel = ctx.attrs.ints('kernel_shape', ctx.dims(w).slice(2));
  const geo = windowGeometry(ctx.attrs, kernel, xs, ys);
  return [convTransposeTo(ctx, ctx.grads[0]!, w, geo, xs, ys, ctx.attrs.int('group', 1))];
};

/** Rules for convolutions. */
export const convRules: Record<string, GradientRule> = { Conv: conv };
