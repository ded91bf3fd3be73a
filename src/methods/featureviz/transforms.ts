import type { Random } from '../random.js';

/** Random transformations the visualization must be robust to (Lucid's `standard_transforms`, at a fixed size). */
export interface TransformOptions {
  /** Grey (0.5) border added around the image, px; the padded image is fitted to the model's input. Default 12. */
  pad?: number;
  /** Largest shift along each axis, px, drawn uniformly from the integers in [−jitter, jitter]. Default 6 (Lucid's jitter(8) then jitter(4)). */
  jitter?: number;
  /** Zoom factors drawn uniformly. Default Lucid's 0.9, 0.92, …, 1.1. */
  scales?: number[];
  /** Rotations in degrees drawn uniformly. Default Lucid's −10…10 with five extra 0s. */
  angles?: number[];
}

/** Lucid's standard transforms as TransformOptions. */
export const STANDARD_TRANSFORMS: Required<TransformOptions> = {
  pad: 12,
  jitter: 6,
  scales: Array.from({ length: 11 }, (_, i) => 1 + (i - 5) / 50),
  angles: [...Array.from({ length: 21 }, (_, i) => i - 10), 0, 0, 0, 0, 0],
};

/** One drawn transformation: zoom, rotation (degrees) and shift (px) of the image about its centre. */
export interface Affine {
  scale: number;
  angle: number;
  dx: number;
  dy: number;
}

/** The identity transformation. */
export const IDENTITY_AFFINE: Affine = { scale: 1, angle: 0, dx: 0, dy: 0 };

/** A transformation drawn from `options` (missing fields take STANDARD_TRANSFORMS' values). */
export function randomAffine(rng: Random, options: TransformOptions = {}): Affine {
  const { jitter, scales, angles } = { ...STANDARD_TRANSFORMS, ...options };
  const pick = (xs: number[]) => xs[rng.int(0, xs.length - 1)];
  return {
    scale: pick(scales),
    angle: pick(angles),
    dx: rng.int(-jitter, jitter),
    dy: rng.int(-jitter, jitter),
  };
}

const PAD_VALUE = 0.5;

/**
 * Bilinear resampling of 3×S×S images in [0, 1] onto an S×S view: the image, padded by `pad` px of grey and fitted
 * to the view, then zoomed, rotated and shifted by an Affine about the centre; samples outside read grey. `adjoint`
 * maps a gradient on the view back to the image (grey samples carry none), so gradients flow through the transform.
 */
export class Warp {
  // Per view pixel, the 4 source indices (−1 outside the image) and their bilinear weights.
  private readonly index: Int32Array;
  private readonly weight: Float32Array;

  constructor(
    readonly size: number,
    affine: Affine,
    pad = 0,
  ) {
    const n = size * size;
    this.index = new Int32Array(4 * n);
    this.weight = new Float32Array(4 * n);
    const c = (size - 1) / 2;
    const zoom = (affine.scale * size) / (size + 2 * pad);
    const a = (affine.angle * Math.PI) / 180;
    const cos = Math.cos(a) / zoom;
    const sin = Math.sin(a) / zoom;
    for (let qy = 0; qy < size; qy++)
      for (let qx = 0; qx < size; qx++) {
        // Source position: the view offset from the centre, rotated by −angle and divided by the zoom.
        const ox = qx - c;
        const oy = qy - c;
        const sx = c + affine.dx + cos * ox + sin * oy;
        const sy = c + affine.dy - sin * ox + cos * oy;
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const fx = sx - x0;
        const fy = sy - y0;
        const k = 4 * (qy * size + qx);
        for (let t = 0; t < 4; t++) {
          const x = x0 + (t & 1);
          const y = y0 + (t >> 1);
          const inside = x >= 0 && x < size && y >= 0 && y < size;
          this.index[k + t] = inside ? y * size + x : -1;
          this.weight[k + t] = (t & 1 ? fx : 1 - fx) * (t >> 1 ? fy : 1 - fy);
        }
      }
  }

  /** The view of one 3×S×S image (from `offset` in `image`) written into `out` from `outOffset`. */
  apply(image: Float32Array, offset: number, out: Float32Array, outOffset: number): void {
    const plane = this.size * this.size;
    const { index, weight } = this;
    for (let ch = 0; ch < 3; ch++) {
      const src = offset + ch * plane;
      const dst = outOffset + ch * plane;
      for (let i = 0; i < plane; i++) {
        let v = 0;
        for (let t = 4 * i; t < 4 * i + 4; t++)
          v += weight[t] * (index[t] < 0 ? PAD_VALUE : image[src + index[t]]);
        out[dst + i] = v;
      }
    }
  }

  /** Adds the adjoint of `apply` to `gradImage` from `offset`: each view gradient spread back over its source taps. */
  adjoint(gradView: Float32Array, viewOffset: number, gradImage: Float32Array, offset: number): void {
    const plane = this.size * this.size;
    const { index, weight } = this;
    for (let ch = 0; ch < 3; ch++) {
      const src = viewOffset + ch * plane;
      const dst = offset + ch * plane;
      for (let i = 0; i < plane; i++) {
        const g = gradView[src + i];
        for (let t = 4 * i; t < 4 * i + 4; t++) if (index[t] >= 0) gradImage[dst + index[t]] += weight[t] * g;
      }
    }
  }
}
