import { Random } from '../random.js';
import { channelSum } from '../attribution/support.js';
import { noisyLinearImputation } from './noisy-linear-imputation.js';
import { descending, metricOptions, prepareMaps, scoreCopies } from './support.js';
import type { MetricInput } from './types.js';

/** Options of ROAD, with Quantus's defaults. */
export const roadDefaults = {
  /** Percentages of pixels imputed, most relevant first; default 1, 3, …, 99. */
  percentages: Array.from({ length: 50 }, (_, k) => 2 * k + 1),
  /** Standard deviation of the Gaussian noise added to imputed values (normalised units). */
  noise: 0.01,
  abs: false,
  normalise: true,
  /** Seed of the noise. */
  seed: 0,
};

/**
 * ROAD, RemOve And Debias (Rong et al. 2022, "A consistent and efficient evaluation strategy for attribution methods"),
 * most relevant first: for each percentage p (default 1, 3, …, 99) the ⌊H·W·p/100⌋ pixels with the largest map values
 * (an N×3×H×W map is summed over channels) are replaced by noisy linear imputation (`noise` 0.01) and the model's
 * prediction on the result recorded as right (1) or wrong (0). The score is the mean over the percentages, the area
 * under the accuracy curve: lower is better. Quantus returns the accuracy per percentage over the batch, and at
 * 85bc29d cannot run on RGB images (it ranks the map spread over channels but imputes pixels); here pixels are ranked
 * and imputed in all channels, as in the paper. One model run per percentage, batched across images.
 * Returns one score per image.
 */
export async function road(
  input: MetricInput,
  options: Partial<typeof roadDefaults> = {},
): Promise<number[]> {
  const o = metricOptions('road', roadDefaults, options);
  const a = prepareMaps('road', input.maps, input.images, o);
  const [n, c, h, w] = input.images.dims;
  const plane = h * w;
  for (const p of o.percentages)
    if (!(p >= 0 && p < 100)) throw new RangeError(`road: percentage ${p}, expected from 0 to below 100`);
  if (o.percentages.length === 0) throw new RangeError('road: no percentages');
  const pixelMaps =
    a.channels === 1 ? a.data : channelSum({ data: a.data, dims: [n, a.channels, h, w] }).data;
  const orders = Array.from({ length: n }, (_, i) =>
    descending(pixelMaps.subarray(i * plane, (i + 1) * plane)),
  );
  const random = new Random(o.seed);
  const steps = o.percentages.length;
  const { predicted } = await scoreCopies(
    input,
    n * steps,
    (j, out) => {
      const i = Math.floor(j / steps);
      const count = Math.trunc((plane * o.percentages[j % steps]) / 100);
      const x = input.images.data.subarray(i * c * plane, (i + 1) * c * plane);
      out.set(noisyLinearImputation(x, c, h, w, orders[i].subarray(0, count), o.noise, random));
    },
    (j) => input.labels[Math.floor(j / steps)],
    { softmax: false },
  );
  return Array.from({ length: n }, (_, i) => {
    let right = 0;
    for (let s = 0; s < steps; s++) right += predicted[i * steps + s] === input.labels[i] ? 1 : 0;
    return right / steps;
  });
}
