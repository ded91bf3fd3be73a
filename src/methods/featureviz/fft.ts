// Mixed-radix FFTs (Stockham autosort, any length) and the 2-D inverse real FFT with its adjoint, as
// numpy.fft.irfft2 / tf.spectral.irfft2d define it: a complex inverse FFT along H, then a real inverse
// FFT along W that reads only the real part of the DC and Nyquist columns.

/** Complex FFTs of one length over the first axis of n×count arrays: precomputed radices and twiddles. */
export class FftPlan {
  private readonly radices: number[];
  // Per stage: cos/sin of 2π·p·k/n_stage for p < m, k < r (the forward transform's sign is applied when used).
  private readonly twiddles: { cos: Float64Array; sin: Float64Array }[] = [];
  // Per radix other than 2 and 4: cos/sin of 2π·j·k/r.
  private readonly roots = new Map<number, { cos: Float64Array; sin: Float64Array }>();
  private scratchRe = new Float64Array(0);
  private scratchIm = new Float64Array(0);

  /** A plan for complex sequences of length `n` (a positive integer). */
  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`FftPlan: length ${n}`);
    this.radices = factorize(n);
    let len = n;
    for (const r of this.radices) {
      const m = len / r;
      const cos = new Float64Array(m * r);
      const sin = new Float64Array(m * r);
      for (let p = 0; p < m; p++)
        for (let k = 0; k < r; k++) {
          const a = (2 * Math.PI * p * k) / len;
          cos[p * r + k] = Math.cos(a);
          sin[p * r + k] = Math.sin(a);
        }
      this.twiddles.push({ cos, sin });
      if (r !== 2 && r !== 4 && !this.roots.has(r)) {
        const rc = new Float64Array(r * r);
        const rs = new Float64Array(r * r);
        for (let j = 0; j < r; j++)
          for (let k = 0; k < r; k++) {
            const a = (2 * Math.PI * ((j * k) % r)) / r;
            rc[j * r + k] = Math.cos(a);
            rs[j * r + k] = Math.sin(a);
          }
        this.roots.set(r, { cos: rc, sin: rs });
      }
      len = m;
    }
  }

  /**
   * In place and unscaled, along the first axis of the n×count arrays `re`, `im` (each column one sequence):
   * `X[k] = Σ_j x[j]·e^{∓2πijk/n}`, sign − forward, + inverse.
   */
  transform(re: Float64Array, im: Float64Array, inverse: boolean, count = 1): void {
    const size = this.n * count;
    if (this.scratchRe.length < size) {
      this.scratchRe = new Float64Array(size);
      this.scratchIm = new Float64Array(size);
    }
    // Stockham autosort: each stage reads one buffer and writes the other; x[q + s(p + jm)] → y[q + s(rp + k)].
    let xr: Float64Array = re;
    let xi: Float64Array = im;
    let yr: Float64Array = this.scratchRe;
    let yi: Float64Array = this.scratchIm;
    const sign = inverse ? 1 : -1;
    let len = this.n;
    let s = 1;
    for (let stage = 0; stage < this.radices.length; stage++) {
      const r = this.radices[stage];
      const m = len / r;
      const tw = this.twiddles[stage];
      const sc = s * count;
      for (let p = 0; p < m; p++) {
        const inBase = p * sc;
        const outBase = r * p * sc;
        if (r === 4) this.radix4(xr, xi, yr, yi, inBase, outBase, m * sc, sc, tw, p, sign);
        else if (r === 2) this.radix2(xr, xi, yr, yi, inBase, outBase, m * sc, sc, tw, p, sign);
        else this.radixAny(r, xr, xi, yr, yi, inBase, outBase, m * sc, sc, tw, p, sign);
      }
      [xr, yr] = [yr, xr];
      [xi, yi] = [yi, xi];
      len = m;
      s *= r;
    }
    if (xr !== re) {
      re.set(xr.subarray(0, size));
      im.set(xi.subarray(0, size));
    }
  }

  // One butterfly column block: inputs at inBase + j·step (j < r), outputs at outBase + k·sc, each `sc` long.
  private radix2(
    xr: Float64Array,
    xi: Float64Array,
    yr: Float64Array,
    yi: Float64Array,
    inBase: number,
    outBase: number,
    step: number,
    sc: number,
    tw: { cos: Float64Array; sin: Float64Array },
    p: number,
    sign: number,
  ): void {
    const wc = tw.cos[p * 2 + 1];
    const ws = sign * tw.sin[p * 2 + 1];
    for (let v = 0; v < sc; v++) {
      const a = inBase + v;
      const b = a + step;
      const dr = xr[a] - xr[b];
      const di = xi[a] - xi[b];
      yr[outBase + v] = xr[a] + xr[b];
      yi[outBase + v] = xi[a] + xi[b];
      yr[outBase + sc + v] = dr * wc - di * ws;
      yi[outBase + sc + v] = dr * ws + di * wc;
    }
  }

  private radix4(
    xr: Float64Array,
    xi: Float64Array,
    yr: Float64Array,
    yi: Float64Array,
    inBase: number,
    outBase: number,
    step: number,
    sc: number,
    tw: { cos: Float64Array; sin: Float64Array },
    p: number,
    sign: number,
  ): void {
    const c1 = tw.cos[p * 4 + 1];
    const s1 = sign * tw.sin[p * 4 + 1];
    const c2 = tw.cos[p * 4 + 2];
    const s2 = sign * tw.sin[p * 4 + 2];
    const c3 = tw.cos[p * 4 + 3];
    const s3 = sign * tw.sin[p * 4 + 3];
    for (let v = 0; v < sc; v++) {
      const i0 = inBase + v;
      const i1 = i0 + step;
      const i2 = i1 + step;
      const i3 = i2 + step;
      const t0r = xr[i0] + xr[i2];
      const t0i = xi[i0] + xi[i2];
      const t1r = xr[i0] - xr[i2];
      const t1i = xi[i0] - xi[i2];
      const t2r = xr[i1] + xr[i3];
      const t2i = xi[i1] + xi[i3];
      // ±i·(a1 − a3): the W₄ = e^{∓iπ/2} terms.
      const ur = -sign * (xi[i1] - xi[i3]);
      const ui = sign * (xr[i1] - xr[i3]);
      const o = outBase + v;
      yr[o] = t0r + t2r;
      yi[o] = t0i + t2i;
      let ar = t1r + ur;
      let ai = t1i + ui;
      yr[o + sc] = ar * c1 - ai * s1;
      yi[o + sc] = ar * s1 + ai * c1;
      ar = t0r - t2r;
      ai = t0i - t2i;
      yr[o + 2 * sc] = ar * c2 - ai * s2;
      yi[o + 2 * sc] = ar * s2 + ai * c2;
      ar = t1r - ur;
      ai = t1i - ui;
      yr[o + 3 * sc] = ar * c3 - ai * s3;
      yi[o + 3 * sc] = ar * s3 + ai * c3;
    }
  }

  private radixAny(
    r: number,
    xr: Float64Array,
    xi: Float64Array,
    yr: Float64Array,
    yi: Float64Array,
    inBase: number,
    outBase: number,
    step: number,
    sc: number,
    tw: { cos: Float64Array; sin: Float64Array },
    p: number,
    sign: number,
  ): void {
    const root = this.roots.get(r)!;
    for (let k = 0; k < r; k++) {
      // Σ_j x_j·W_r^{jk} accumulated straight into the output, one input row j at a time.
      const o = outBase + k * sc;
      for (let v = 0; v < sc; v++) {
        yr[o + v] = xr[inBase + v];
        yi[o + v] = xi[inBase + v];
      }
      for (let j = 1; j < r; j++) {
        const c = root.cos[j * r + k];
        const sn = sign * root.sin[j * r + k];
        const base = inBase + j * step;
        for (let v = 0; v < sc; v++) {
          const a = xr[base + v];
          const b = xi[base + v];
          yr[o + v] += a * c - b * sn;
          yi[o + v] += a * sn + b * c;
        }
      }
      if (p === 0 || k === 0) continue;
      const wc = tw.cos[p * r + k];
      const ws = sign * tw.sin[p * r + k];
      for (let v = 0; v < sc; v++) {
        const a = yr[o + v];
        const b = yi[o + v];
        yr[o + v] = a * wc - b * ws;
        yi[o + v] = a * ws + b * wc;
      }
    }
  }
}

// Radices 4 first (fewest operations per point), then 2, 3, 5, 7, ..., each ≤ the remaining length.
function factorize(n: number): number[] {
  const out: number[] = [];
  let rest = n;
  while (rest % 4 === 0) {
    out.push(4);
    rest /= 4;
  }
  for (let p = 2; rest > 1; p++) {
    while (rest % p === 0) {
      out.push(p);
      rest /= p;
    }
  }
  return out.length ? out : [1];
}

/**
 * The inverse 2-D real FFT of H×W real images and its adjoint, for spectra of H×(W/2+1) complex values
 * stored as separate real and imaginary planes.
 */
export class Irfft2 {
  /** Columns of the half spectrum: ⌊W/2⌋ + 1. */
  readonly freqWidth: number;
  private readonly rows: FftPlan;
  private readonly cols: FftPlan;
  private readonly pairs: number;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  // Rows two at a time, transposed (W×⌈H/2⌉): row 2p in the real part of column p, row 2p+1 in its imaginary part.
  private readonly zRe: Float64Array;
  private readonly zIm: Float64Array;

  constructor(
    readonly height: number,
    readonly width: number,
  ) {
    this.freqWidth = Math.floor(width / 2) + 1;
    this.cols = new FftPlan(height);
    this.rows = new FftPlan(width);
    this.pairs = Math.ceil(height / 2);
    this.re = new Float64Array(height * this.freqWidth);
    this.im = new Float64Array(height * this.freqWidth);
    this.zRe = new Float64Array(width * this.pairs);
    this.zIm = new Float64Array(width * this.pairs);
  }

  /** `numpy.fft.irfft2(re + i·im, s=(H, W))` into `out` (H×W): the 1/(H·W) scaling included. */
  forward(specRe: Float32Array, specIm: Float32Array, out: Float32Array): void {
    const { height: h, width: w, freqWidth: fw, pairs, re, im, zRe, zIm } = this;
    for (let i = 0; i < re.length; i++) {
      re[i] = specRe[i];
      im[i] = specIm[i];
    }
    this.cols.transform(re, im, true, fw);
    const nyquist = w % 2 === 0 ? w / 2 : -1;
    // Both rows of a pair have Hermitian spectra, so one comes out as the real part and one as the imaginary.
    for (let pr = 0; pr < pairs; pr++) {
      const a = 2 * pr * fw;
      const b = 2 * pr + 1 < h ? (2 * pr + 1) * fw : -1;
      for (let k = 0; k < w; k++) {
        // Spectrum of a row at k: Y[k] for k < fw, conj(Y[w − k]) above; DC and Nyquist real.
        const src = k < fw ? k : w - k;
        const conj = k < fw ? 1 : -1;
        const real = k === 0 || k === nyquist;
        const ar = re[a + src];
        const ai = real ? 0 : conj * im[a + src];
        const br = b < 0 ? 0 : re[b + src];
        const bi = b < 0 || real ? 0 : conj * im[b + src];
        // Z = A + i·B
        zRe[k * pairs + pr] = ar - bi;
        zIm[k * pairs + pr] = ai + br;
      }
    }
    this.rows.transform(zRe, zIm, true, pairs);
    const scale = 1 / (h * w);
    for (let x = 0; x < w; x++)
      for (let pr = 0; pr < pairs; pr++) {
        out[2 * pr * w + x] = zRe[x * pairs + pr] * scale;
        if (2 * pr + 1 < h) out[(2 * pr + 1) * w + x] = zIm[x * pairs + pr] * scale;
      }
  }

  /** The adjoint of `forward`: from ∂L/∂image (H×W) to ∂L/∂re and ∂L/∂im of the spectrum. */
  adjoint(grad: Float32Array, gradRe: Float32Array, gradIm: Float32Array): void {
    const { height: h, width: w, freqWidth: fw, pairs, re, im, zRe, zIm } = this;
    const nyquist = w % 2 === 0 ? w / 2 : -1;
    const scale = 1 / (h * w);
    for (let x = 0; x < w; x++)
      for (let pr = 0; pr < pairs; pr++) {
        zRe[x * pairs + pr] = grad[2 * pr * w + x];
        zIm[x * pairs + pr] = 2 * pr + 1 < h ? grad[(2 * pr + 1) * w + x] : 0;
      }
    this.rows.transform(zRe, zIm, false, pairs);
    // Separate the pair's forward FFTs, then weight each bin by how often the Hermitian extension uses it
    // (twice, except DC and Nyquist): the adjoint of the real inverse FFT.
    for (let pr = 0; pr < pairs; pr++) {
      const a = 2 * pr * fw;
      const b = 2 * pr + 1 < h ? (2 * pr + 1) * fw : -1;
      for (let k = 0; k < fw; k++) {
        const mk = (w - k) % w;
        const zr = zRe[k * pairs + pr];
        const zi = zIm[k * pairs + pr];
        const cr = zRe[mk * pairs + pr];
        const ci = -zIm[mk * pairs + pr];
        const real = k === 0 || k === nyquist;
        const weight = (real ? 1 : 2) * scale;
        re[a + k] = ((zr + cr) / 2) * weight;
        im[a + k] = real ? 0 : ((zi + ci) / 2) * weight;
        if (b >= 0) {
          re[b + k] = ((zi - ci) / 2) * weight;
          im[b + k] = real ? 0 : (-(zr - cr) / 2) * weight;
        }
      }
    }
    // The adjoint of the unscaled inverse FFT along H is the forward FFT (the 1/(H·W) was applied above).
    this.cols.transform(re, im, false, fw);
    for (let i = 0; i < re.length; i++) {
      gradRe[i] = re[i];
      gradIm[i] = im[i];
    }
  }
}
