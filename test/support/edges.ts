import type { Classifier } from '../../src/model/classifier.js';
import type { Tensor } from '../../src/tensor.js';

/**
 * Sobel gradient magnitude of each image's channel mean (N×H×W, 0 on the border): an "explanation" that never looks
 * at the model or the class, the edge detector of the randomisation sanity checks.
 */
export async function edges(_c: Classifier, x: Tensor): Promise<Tensor> {
  const [n, , h, w] = x.dims;
  const plane = h * w;
  const out = new Float32Array(n * plane);
  const grey = (i: number, y: number, xx: number) =>
    (x.data[i * 3 * plane + y * w + xx] +
      x.data[(i * 3 + 1) * plane + y * w + xx] +
      x.data[(i * 3 + 2) * plane + y * w + xx]) /
    3;
  for (let i = 0; i < n; i++)
    for (let y = 1; y < h - 1; y++)
      for (let xx = 1; xx < w - 1; xx++) {
        const gx =
          grey(i, y - 1, xx + 1) +
          2 * grey(i, y, xx + 1) +
          grey(i, y + 1, xx + 1) -
          grey(i, y - 1, xx - 1) -
          2 * grey(i, y, xx - 1) -
          grey(i, y + 1, xx - 1);
        const gy =
          grey(i, y + 1, xx - 1) +
          2 * grey(i, y + 1, xx) +
          grey(i, y + 1, xx + 1) -
          grey(i, y - 1, xx - 1) -
          2 * grey(i, y - 1, xx) -
          grey(i, y - 1, xx + 1);
        out[i * plane + y * w + xx] = Math.hypot(gx, gy);
      }
  return { data: out, dims: [n, h, w] };
}
