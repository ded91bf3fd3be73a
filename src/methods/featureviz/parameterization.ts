import { Random } from '../random.js';
import { Irfft2 } from './fft.js';

/** How the optimised parameters become an image: `fft` (Lucid's 1/f-scaled spectrum) or `pixel` values. */
export type ParameterizationName = 'fft' | 'pixel';

/** Options of an image parameterization (Lucid's `param.image`). */
export interface ParameterizationOptions {
  /** Images in the batch. */
  batch: number;
  /** Image side in pixels. */
  size: number;
  /** Interpret the channels in Lucid's decorrelated ImageNet colour space. Default true. */
  decorrelate?: boolean;
  /** Standard deviation of the random initial parameters. Default 0.01 (Lucid). */
  sd?: number;
  /** Exponent of the 1/f spectrum scaling (fft only). Default 1 (Lucid). */
  decayPower?: number;
  /** Seed of the initial parameters. Default 0. */
  seed?: number;
}

/** Images as a differentiable function of a parameter vector. */
export interface ImageParameterization {
  /** The optimised values (updated in place by the optimiser). */
  readonly params: Float32Array;
  /** N×3×size×size RGB in (0, 1) for the current parameters (kept for `backward`). */
  render(): Float32Array;
  /** ∂L/∂params from ∂L/∂rgb of the last `render()`. */
  backward(gradRgb: Float32Array): Float32Array;
}

// Lucid's square root of ImageNet's colour correlation (lucid/optvis/param/color.py), its columns scaled so the
// largest has unit norm: rgb = M · t for a pixel t of the decorrelated space.
const COLOR_CORRELATION_SVD_SQRT = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];
const MAX_COLUMN_NORM = Math.max(
  ...[0, 1, 2].map((j) => Math.hypot(...COLOR_CORRELATION_SVD_SQRT.map((row) => row[j]))),
);
const COLOR_MATRIX = COLOR_CORRELATION_SVD_SQRT.map((row) => row.map((v) => v / MAX_COLUMN_NORM));
const IDENTITY = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];

/**
 * Lucid's `to_valid_rgb` as a stateful map: N×3×H×W raw values → (decorrelated colours →) sigmoid → RGB in (0, 1),
 * and the adjoint back to the raw values.
 */
class ToValidRgb {
  private rgb = new Float32Array(0);

  constructor(
    private readonly decorrelate: boolean,
    private readonly plane: number,
  ) {}

  forward(raw: Float32Array): Float32Array {
    const { plane } = this;
    const m = this.decorrelate ? COLOR_MATRIX : IDENTITY;
    const rgb = new Float32Array(raw.length);
    for (let base = 0; base < raw.length; base += 3 * plane) {
      for (let i = base; i < base + plane; i++) {
        const t0 = raw[i];
        const t1 = raw[i + plane];
        const t2 = raw[i + 2 * plane];
        for (let c = 0; c < 3; c++) {
          const v = m[c][0] * t0 + m[c][1] * t1 + m[c][2] * t2;
          rgb[i + c * plane] = 1 / (1 + Math.exp(-v));
        }
      }
    }
    this.rgb = rgb;
    return rgb;
  }

  backward(gradRgb: Float32Array): Float32Array {
    const { plane, rgb } = this;
    const m = this.decorrelate ? COLOR_MATRIX : IDENTITY;
    const out = new Float32Array(rgb.length);
    for (let base = 0; base < rgb.length; base += 3 * plane) {
      for (let i = base; i < base + plane; i++) {
        // Through the sigmoid (σ' = σ(1 − σ)), then the transpose of the colour matrix.
        const s0 = rgb[i];
        const s1 = rgb[i + plane];
        const s2 = rgb[i + 2 * plane];
        const g0 = gradRgb[i] * s0 * (1 - s0);
        const g1 = gradRgb[i + plane] * s1 * (1 - s1);
        const g2 = gradRgb[i + 2 * plane] * s2 * (1 - s2);
        for (let j = 0; j < 3; j++) out[i + j * plane] = m[0][j] * g0 + m[1][j] * g1 + m[2][j] * g2;
      }
    }
    return out;
  }
}

/** Lucid's pixel parameterization (`naive`): one raw value per pixel and channel, through `to_valid_rgb`. */
export function pixelImage(options: ParameterizationOptions): ImageParameterization {
  const { batch, size, decorrelate = true, sd = 0.01, seed = 0 } = options;
  const rng = new Random(seed);
  const params = rng.normals(batch * 3 * size * size).map((v) => v * sd);
  const rgb = new ToValidRgb(decorrelate, size * size);
  return {
    params,
    render: () => rgb.forward(params),
    backward: (g) => rgb.backward(g),
  };
}

/**
 * Lucid's Fourier parameterization (`fft_image`): per image and channel, a half spectrum of H×(W/2+1) complex
 * values scaled by 1/max(f, 1/size)^decay · √(H·W), inverse real FFT, ÷4, then `to_valid_rgb`.
 * Parameters are laid out [image][re|im][channel][fy][fx].
 */
export function fourierImage(options: ParameterizationOptions): ImageParameterization {
  const { batch, size, decorrelate = true, sd = 0.01, decayPower = 1, seed = 0 } = options;
  const fft = new Irfft2(size, size);
  const fw = fft.freqWidth;
  const spec = size * fw;
  // numpy.fft.fftfreq: k/n for k < n/2 (rounded up), then negative; only |f| matters here.
  const freq = (k: number, n: number) => (k < Math.ceil(n / 2) ? k : k - n) / n;
  const scale = new Float32Array(spec);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < fw; x++) {
      const f = Math.hypot(freq(y, size), freq(x, size));
      scale[y * fw + x] = Math.sqrt(size * size) / Math.max(f, 1 / size) ** decayPower / 4;
    }
  const rng = new Random(seed);
  const params = rng.normals(batch * 2 * 3 * spec).map((v) => v * sd);
  const rgb = new ToValidRgb(decorrelate, size * size);
  const plane = size * size;
  const re = new Float32Array(spec);
  const im = new Float32Array(spec);
  const gradRe = new Float32Array(spec);
  const gradIm = new Float32Array(spec);
  return {
    params,
    render() {
      const raw = new Float32Array(batch * 3 * plane);
      for (let n = 0; n < batch; n++)
        for (let c = 0; c < 3; c++) {
          const reAt = (n * 2 * 3 + c) * spec;
          const imAt = (n * 2 * 3 + 3 + c) * spec;
          for (let i = 0; i < spec; i++) {
            re[i] = params[reAt + i] * scale[i];
            im[i] = params[imAt + i] * scale[i];
          }
          fft.forward(re, im, raw.subarray((n * 3 + c) * plane, (n * 3 + c + 1) * plane));
        }
      return rgb.forward(raw);
    },
    backward(g) {
      const gRaw = rgb.backward(g);
      const out = new Float32Array(params.length);
      for (let n = 0; n < batch; n++)
        for (let c = 0; c < 3; c++) {
          fft.adjoint(gRaw.subarray((n * 3 + c) * plane, (n * 3 + c + 1) * plane), gradRe, gradIm);
          const reAt = (n * 2 * 3 + c) * spec;
          const imAt = (n * 2 * 3 + 3 + c) * spec;
          for (let i = 0; i < spec; i++) {
            out[reAt + i] = gradRe[i] * scale[i];
            out[imAt + i] = gradIm[i] * scale[i];
          }
        }
      return out;
    },
  };
}

/** The named parameterization. */
export function imageParameterization(
  name: ParameterizationName,
  options: ParameterizationOptions,
): ImageParameterization {
  return name === 'fft' ? fourierImage(options) : pixelImage(options);
}
