import { slic } from '../../image/slic.js';
import { Random } from '../random.js';
import { baselineValue, descending, metricOptions, prepareMaps, scoreCopies, trapezoid } from './support.js';
import type { MetricInput } from './types.js';

/** Options of IROF, with Quantus's defaults. */
export const irofDefaults = {
  /** Value a removed superpixel takes: 'mean' is the mean of the image as perturbed so far. */
  perturbBaseline: 'mean',
  abs: false,
  normalise: true,
  softmax: true,
  /** Seed of the 'uniform' baseline's draws. */
  seed: 0,
};

/**
 * IROF, Iterative Removal Of Features (Rieger & Hansen 2020, "IROF: a low resource evaluation metric for explanation
 * methods"): each image is cut into SLIC superpixels (scikit-image's defaults, as Quantus), which are ranked by the
 * map's mean over them and removed one after another, most relevant first, by setting all their channels to the
 * baseline (default 'mean': the mean of all values of the image as perturbed so far); after each removal the label's
 * softmax probability is divided by the unperturbed one. The score is the area over that curve, S − AUC with S the
 * number of superpixels and the AUC by the trapezoid rule with unit spacing, as Quantus computes it: higher is
 * better. Quantus at 85bc29d cannot run it on RGB images (its mask has one channel where the image has three, and its
 * 'mean' is taken over the whole batch); here each superpixel is removed in every channel, image by image.
 * One model run per superpixel, batched across images. Returns one score per image.
 */
export async function irof(
  input: MetricInput,
  options: Partial<typeof irofDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('irof', irofDefaults, options);
  const a = prepareMaps('irof', input.maps, input.images, o);
  const [n, c, h, w] = input.images.dims;
  const plane = h * w;
  const per = c * plane;
  const segments = Array.from({ length: n }, (_, i) => {
    const x = input.images.data.subarray(i * per, (i + 1) * per);
    const interleaved = new Float64Array(per);
    for (let p = 0; p < plane; p++)
      for (let ch = 0; ch < c; ch++) interleaved[p * c + ch] = x[ch * plane + p];
    const labels = slic(interleaved, h, w);
    const count = labels.reduce((m, v) => Math.max(m, v + 1), 0);
    const sums = new Float64Array(count);
    const sizes = new Float64Array(count);
    for (let ch = 0; ch < a.channels; ch++)
      for (let p = 0; p < plane; p++) {
        sums[labels[p]] += a.data[i * a.per + ch * plane + p];
        sizes[labels[p]]++;
      }
    const members: number[][] = Array.from({ length: count }, () => []);
    labels.forEach((s, p) => members[s].push(p));
    return { order: descending(sums.map((s, k) => s / sizes[k])), members };
  });
  const offsets = segments.reduce<number[]>(
    (acc, s) => [...acc, acc[acc.length - 1] + s.order.length + 1],
    [0],
  );
  const image = (j: number) => offsets.findIndex((start, i) => j >= start && j < offsets[i + 1]);
  const random = new Random(o.seed);
  let state: Float32Array = new Float32Array(per);
  const { scores } = await scoreCopies(
    input,
    offsets[n],
    (j, out) => {
      const i = image(j);
      const k = j - offsets[i] - 1; // -1: the unperturbed image
      if (k < 0) state = input.images.data.slice(i * per, (i + 1) * per);
      else {
        const v = baselineValue('irof', o.perturbBaseline, state, random);
        for (const p of segments[i].members[segments[i].order[k]])
          for (let ch = 0; ch < c; ch++) state[ch * plane + p] = v;
      }
      out.set(state);
    },
    (j) => input.labels[image(j)],
    o,
  );
  return segments.map(({ order }, i) => {
    const y = scores[offsets[i]];
    const curve = Array.from(scores.subarray(offsets[i] + 1, offsets[i + 1]), (v) => v / y);
    return order.length - trapezoid(curve);
  });
}
