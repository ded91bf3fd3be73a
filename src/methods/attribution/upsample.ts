import type { Tensor } from '../../tensor.js';

/**
 * Per output index along one axis of bilinear resizing from `inSize` to `outSize`: the two input indices and the
 * weight of the second, as PyTorch's area_pixel_compute_source_index: source = (i + 0.5) · in / out − 0.5, clamped
 * at 0 (align_corners=False), or i · (in − 1) / (out − 1) (align_corners=True: the corner pixels' centres line up).
 */
export function bilinearAxis(
  inSize: number,
  outSize: number,
  alignCorners: boolean,
): { lo: Int32Array; hi: Int32Array; t: Float32Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const t = new Float32Array(outSize);
  const scale = alignCorners ? (outSize > 1 ? (inSize - 1) / (outSize - 1) : 0) : inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const src = alignCorners ? i * scale : Math.max(0, (i + 0.5) * scale - 0.5);
    lo[i] = Math.min(Math.floor(src), inSize - 1);
    hi[i] = Math.min(lo[i] + 1, inSize - 1);
    t[i] = src - lo[i];
  }
  return { lo, hi, t };
}

/**
 * `t` (…×h×w) resized to …×`height`×`width` by bilinear interpolation, as `F.interpolate(mode='bilinear',
 * align_corners=alignCorners)` (default false; true is `nn.UpsamplingBilinear2d`, which Score-CAM's masks use).
 */
export function upsampleBilinear(t: Tensor, height: number, width: number, alignCorners = false): Tensor {
  const h = t.dims[t.dims.length - 2];
  const w = t.dims[t.dims.length - 1];
  const count = t.data.length / (h * w);
  const ys = bilinearAxis(h, height, alignCorners);
  const xs = bilinearAxis(w, width, alignCorners);
  const out = new Float32Array(count * height * width);
  for (let p = 0; p < count; p++) {
    const src = p * h * w;
    const dst = p * height * width;
    for (let y = 0; y < height; y++) {
      const r0 = src + ys.lo[y] * w;
      const r1 = src + ys.hi[y] * w;
      const ty = ys.t[y];
      for (let x = 0; x < width; x++) {
        const tx = xs.t[x];
        const top = t.data[r0 + xs.lo[x]] * (1 - tx) + t.data[r0 + xs.hi[x]] * tx;
        const bottom = t.data[r1 + xs.lo[x]] * (1 - tx) + t.data[r1 + xs.hi[x]] * tx;
        out[dst + y * width + x] = top * (1 - ty) + bottom * ty;
      }
    }
  }
  return { data: out, dims: [...t.dims.slice(0, -2), height, width] };
}
