import type { GradientRule, RuleContext } from '../types.js';
import { normAxis, unsupported } from './common.js';

/** Where output position `o` samples the input along one axis, per coordinate_transformation_mode (ONNX Resize). */
function sourceCoordinate(
  ctx: RuleContext,
  mode: string,
  o: number,
  scale: number,
  inSize: number,
  outSize: number,
): number {
  switch (mode) {
    case 'half_pixel':
      return (o + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel':
      return outSize > 1 ? (o + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return outSize === 1 ? 0 : (o * (inSize - 1)) / (outSize - 1);
    case 'asymmetric':
      return o / scale;
    case 'half_pixel_symmetric': {
      const adjustment = outSize / (scale * inSize);
      return (inSize / 2) * (1 - adjustment) + (o + 0.5) / scale - 0.5;
    }
    default:
      return unsupported(ctx, `coordinate_transformation_mode '${mode}' is not supported`);
  }
}

function roundNearest(ctx: RuleContext, x: number, nearestMode: string): number {
  const half = x - Math.floor(x) === 0.5;
  switch (nearestMode) {
    case 'round_prefer_floor':
      return half ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return half ? Math.ceil(x) : Math.round(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    default:
      return unsupported(ctx, `nearest_mode '${nearestMode}' is not supported`);
  }
}

/** The outSize×inSize matrix M of one axis's resampling: y = M·x along that axis (coordinates clamped at the edges, as ONNX Runtime). */
function axisMatrix(ctx: RuleContext, inSize: number, outSize: number, scale: number): Float64Array {
  const mode = ctx.attrs.string('mode', 'nearest');
  const transform = ctx.attrs.string('coordinate_transformation_mode', 'half_pixel');
  const nearestMode = ctx.attrs.string('nearest_mode', 'round_prefer_floor');
  const m = new Float64Array(outSize * inSize);
  const clamp = (v: number) => Math.min(Math.max(v, 0), inSize - 1);
  for (let o = 0; o < outSize; o++) {
    const x = sourceCoordinate(ctx, transform, o, scale, inSize, outSize);
    if (mode === 'nearest') {
      m[o * inSize + clamp(roundNearest(ctx, x, nearestMode))] = 1;
      continue;
    }
    const c = clamp(x);
    const lo = Math.floor(c);
    const hi = Math.min(lo + 1, inSize - 1);
    m[o * inSize + lo] += 1 - (c - lo);
    m[o * inSize + hi] += c - lo;
  }
  return m;
}

// Resize is linear and separable: along each resized axis y = M·x, so dx = Mᵀ·g, one MatMul per axis with
// the matrix built here from the node's attributes and the shapes.
const resize: GradientRule = (ctx) => {
  const { b } = ctx;
  const mode = ctx.attrs.string('mode', 'nearest');
  if (mode !== 'nearest' && mode !== 'linear')
    unsupported(ctx, `mode '${mode}' is not supported (nearest and linear are)`);
  if (ctx.attrs.int('antialias', 0)) unsupported(ctx, 'antialias=1 is not supported');
  if (ctx.attrs.int('exclude_outside', 0)) unsupported(ctx, 'exclude_outside=1 is not supported');
  if (ctx.attrs.string('keep_aspect_ratio_policy', 'stretch') !== 'stretch')
    unsupported(ctx, 'keep_aspect_ratio_policy other than stretch is not supported');
  const [x, , scalesName] = ctx.node.input;
  const xDims = ctx.dims(x);
  const yDims = ctx.dims(ctx.node.output[0]);
  const rank = xDims.length;
  const axes = ctx.attrs
    .ints(
      'axes',
      xDims.map((_, i) => i),
    )
    .map((a) => normAxis(a, rank));
  const scales = scalesName && ctx.dims(scalesName)[0] > 0 ? ctx.values(scalesName) : undefined;
  let g = ctx.grads[0]!;
  axes.forEach((axis, k) => {
    const inSize = xDims[axis];
    const outSize = yDims[axis];
    const scale = scales ? scales[k] : outSize / inSize;
    if (inSize === outSize && scale === 1) return;
    const m = b.constFloat(axisMatrix(ctx, inSize, outSize, scale), [outSize, inSize]);
    const perm = xDims.map((_, i) => (i === axis ? rank - 1 : i === rank - 1 ? axis : i));
    const last = axis === rank - 1;
    const moved = last ? g : b.op1('Transpose', [g], { perm: { ints: perm } });
    const product = b.op1('MatMul', [moved, m]);
    g = last ? product : b.op1('Transpose', [product], { perm: { ints: perm } });
  });
  return [g];
};

/** Rules for resampling. */
export const resizeRules: Record<string, GradientRule> = { Resize: resize };
