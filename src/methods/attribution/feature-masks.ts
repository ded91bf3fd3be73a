import { slic } from '../../image/slic.js';
import type { Preprocessing } from '../../image/types.js';
import type { Tensor } from '../../tensor.js';

/** The features of a perturbation method for one image: a feature index per pixel (0…count−1). */
export interface FeatureMask {
  /** H×W, row-major. */
  labels: Int32Array;
  count: number;
}

/**
 * Per image, the interpretable features KernelSHAP and LIME switch on and off: the given `mask` (1×H×W for every image
 * or N×H×W, any integer values, renumbered 0…k−1 in increasing order of value), else the SLIC superpixels of the image
 * de-normalised with `preprocessing`, as scikit-image's `slic` makes them with its defaults (`slic`: about 100 asked,
 * 49–89 on 224×224 photos once small fragments are merged; the same segmentation as IROF's). Throws a RangeError for a
 * mask of other dims or with non-integer values.
 */
export function featureMasks(images: Tensor, preprocessing: Preprocessing, mask?: Tensor): FeatureMask[] {
  const [n, c, h, w] = images.dims;
  const pixels = h * w;
  if (mask) {
    const dims = mask.dims.length === 2 ? [1, ...mask.dims] : mask.dims;
    if (dims.length !== 3 || dims[1] !== h || dims[2] !== w || (dims[0] !== 1 && dims[0] !== n))
      throw new RangeError(
        `feature mask dims [${mask.dims}], expected [${h}, ${w}], [1, ${h}, ${w}] or [${n}, ${h}, ${w}]`,
      );
    return Array.from({ length: n }, (_, i) => {
      const values = mask.data.subarray(
        (dims[0] === 1 ? 0 : i) * pixels,
        ((dims[0] === 1 ? 0 : i) + 1) * pixels,
      );
      if (!values.every(Number.isInteger)) throw new RangeError('feature mask: values must be integers');
      const distinct = [...new Set(values)].sort((a, b) => a - b);
      const index = new Map(distinct.map((v, k) => [v, k]));
      return { labels: Int32Array.from(values, (v) => index.get(v)!), count: distinct.length };
    });
  }
  const { mean, std } = preprocessing;
  return Array.from({ length: n }, (_, i) => {
    // H×W×3, as slic reads an image.
    const rgb = new Float32Array(c * pixels);
    for (let ch = 0; ch < c; ch++)
      for (let p = 0; p < pixels; p++) {
        const v = images.data[(i * c + ch) * pixels + p] * std[ch] + mean[ch];
        rgb[p * c + ch] = Math.min(1, Math.max(0, v));
      }
    const labels = slic(rgb, h, w);
    return { labels, count: labels.reduce((a, b) => Math.max(a, b), -1) + 1 };
  });
}
