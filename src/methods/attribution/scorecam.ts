import type { Classifier } from '../../model/classifier.js';
import type { Tensor } from '../../tensor.js';
import { classActivationMaps, weightedSum, type CamImage, type CamOptions, type CamResult } from './cam.js';
import type { Target } from './support.js';
import { upsampleBilinear } from './upsample.js';

/**
 * Score-CAM (Wang et al. 2020): each channel A^k of `layer` (default as Grad-CAM's) is upsampled to the input
 * (bilinear, corners aligned, as pytorch-grad-cam's `nn.UpsamplingBilinear2d`), scaled to [0, 1] ((A − min) /
 * (max − min + 1e-8)) and multiplied into the image; the target's logit on each masked image, softmaxed over the
 * channels, weighs the channels: ReLU(Σ_k w_k A^k), upsampled bilinearly; N×H×W, non-negative. Gradient-free. One
 * forward pass per channel and image (channels that are constant give an all-zero mask and share one pass), in batches
 * of `batchSize` (default 16); `onStep` counts channels.
 */
export async function scoreCam(
  classifier: Classifier,
  images: Tensor,
  target?: Target,
  { onStep, ...options }: CamOptions = {},
): Promise<CamResult> {
  const batchSize = options.batchSize ?? 16;
  const [n, c, height, width] = images.dims;
  const pixels = height * width;
  const per = c * pixels;
  let done = 0;
  const channelScores: CamImage = {
    map: async ({ a, channels, plane, height: h, width: w, index, label }) => {
      const x = images.data.subarray(index * per, (index + 1) * per);
      const scores = new Float64Array(channels);
      const upsample = (k: number) =>
        upsampleBilinear({ data: a.subarray(k * plane, (k + 1) * plane), dims: [h, w] }, height, width, true)
          .data;
      // Each channel's range on the upsampled map; the masks themselves are remade batch by batch (they are large).
      const alive: { k: number; lo: number; scale: number }[] = [];
      const dead: number[] = [];
      for (let k = 0; k < channels; k++) {
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of upsample(k)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        if (hi === lo) dead.push(k);
        else alive.push({ k, lo, scale: hi - lo + 1e-8 });
      }
      const rows: ({ k: number; lo: number; scale: number } | undefined)[] = [...alive];
      if (dead.length) rows.push(undefined); // the zero image that every constant channel's mask gives
      for (let start = 0; start < rows.length; start += batchSize) {
        options.signal?.throwIfAborted();
        const count = Math.min(batchSize, rows.length - start);
        const batch = new Float32Array(count * per);
        for (let r = 0; r < count; r++) {
          const row = rows[start + r];
          if (!row) continue;
          const mask = upsample(row.k);
          for (let p = 0; p < pixels; p++) mask[p] = (mask[p] - row.lo) / row.scale;
          for (let ch = 0; ch < c; ch++) {
            const out = r * per + ch * pixels;
            const from = ch * pixels;
            for (let p = 0; p < pixels; p++) batch[out + p] = x[from + p] * mask[p];
          }
        }
        const logits = await classifier.logits({ data: batch, dims: [count, c, height, width] });
        const classes = logits.dims[1];
        for (let r = 0; r < count; r++) {
          const row = rows[start + r];
          const score = logits.data[r * classes + label];
          if (row) scores[row.k] = score;
          else for (const d of dead) scores[d] = score;
          done += row ? 1 : dead.length;
        }
        onStep?.(done, n * channels);
      }
      let max = -Infinity;
      for (const s of scores) max = Math.max(max, s);
      let sum = 0;
      for (let k = 0; k < channels; k++) sum += scores[k] = Math.exp(scores[k] - max);
      for (let k = 0; k < channels; k++) scores[k] /= sum;
      return weightedSum(scores, a, channels, plane);
    },
  };
  return classActivationMaps(classifier, images, target, channelScores, 'scoreCam', options);
}
