import { mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { decodeImage } from '../image/decode.js';
import { encodePng } from '../image/encode.js';
import { deprocess, imageToTensor } from '../image/preprocess.js';
import type { RgbImage } from '../image/types.js';
import { pixelChange, type AttackResult } from '../methods/adversarial/attack.js';
import { argmaxRows } from '../methods/common.js';
import type { Classifier } from '../model/classifier.js';
import { planOutputs } from './outputs.js';

/** A file name for each input's adversarial image in --save-adversarial, unique within the run. */
export function fileStems(paths: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return paths.map((path) => {
    const stem = basename(path, extname(path));
    const k = (seen.get(stem) ?? 0) + 1;
    seen.set(stem, k);
    return k === 1 ? stem : `${stem}-${k}`;
  });
}

/** An adversarial example after rounding to 8 bits: whether it is still adversarial, its size, the file written. */
export interface RoundedCheck {
  adversarial: boolean;
  /** Size of the change from the crop, in 0-255 units, measured on the 8-bit images (read back from the file when written). */
  linfPixels: number;
  l2Pixels: number;
  file?: string;
}

/**
 * An adversarial example's 8-bit image checked once more: written to `dir` (with the crop it was made from) and read
 * back from the file when a folder is given, then classified, its size measured against the crop.
 */
export async function checkRounded(
  classifier: Classifier,
  example: AttackResult,
  crop: RgbImage,
  label: number,
  dir: string | undefined,
  stem: string,
): Promise<RoundedCheck> {
  let image = deprocess(example.image, classifier.preprocessing)[0];
  let file: string | undefined;
  if (dir) {
    file = join(dir, `${stem}.adversarial.png`);
    const original = join(dir, `${stem}.original.png`);
    // The folder was planned (checked) with the command's outputs; it is made at the first image written.
    await mkdir(dir, { recursive: true });
    const files = await planOutputs([
      { flag: '--save-adversarial', path: original, format: 'png' },
      { flag: '--save-adversarial', path: file, format: 'png' },
    ]);
    await files.write({ [original]: await encodePng(crop), [file]: await encodePng(image) });
    image = await decodeImage(file);
  }
  const predicted = argmaxRows(await classifier.logits(imageToTensor(image, classifier.preprocessing)))[0];
  return { adversarial: predicted !== label, ...pixelChange(image.data, crop.data), ...(file && { file }) };
}
