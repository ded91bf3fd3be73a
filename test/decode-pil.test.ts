// Decoding as PIL does (CMYK JPEGs, profiles) and the input checks, with inputs made here or taken from ../shared.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import {
  decodeImage,
  ImageError,
  imageBatch,
  preprocess,
  readImages,
  rgbFromCmyk,
  type RgbImage,
} from '../src/image/index.js';
import { argmaxRows } from '../src/methods/common.js';
import { loadClassifier } from '../src/model/load.js';
import {
  cmykJpeg,
  naiveCmyk,
  pngClaiming,
  withoutAdobeMarker,
  withoutIccProfile,
} from './support/image-files.js';
import { readNpy } from './support/npy.js';
import { IMAGES, REFERENCE, referenceMeta } from './support/shared.js';

const meta = referenceMeta();

// Four 16×16 blocks of flat inks (C, M, Y, K) and the RGB Pillow 9.4 gives for each after `convert('RGB')` of the
// same CMYK JPEG (measured with /usr/bin/python3; by hand: R = (255 − K) − MULDIV255(C, 255 − K), e.g.
// 55 − round(30·55/255) = 49).
const INKS = [
  [0, 0, 0, 0],
  [0, 255, 255, 128],
  [30, 60, 90, 200],
  [200, 100, 50, 20],
];
const PIL_RGB = [
  [255, 255, 255],
  [127, 0, 0],
  [49, 42, 36],
  [51, 143, 189],
];

function blocks(): Uint8Array {
  const cmyk = new Uint8Array(64 * 16 * 4);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 64; x++) cmyk.set(INKS[x >> 4], (y * 64 + x) * 4);
  return cmyk;
}

const centres = (img: RgbImage) =>
  INKS.map((_, k) => [
    ...img.data.subarray((8 * img.width + k * 16 + 8) * 3, (8 * img.width + k * 16 + 8) * 3 + 3),
  ]);

describe('CMYK JPEGs decode to the pixels PIL gives', () => {
  test("rgbFromCmyk is Pillow's cmyk2rgb, rounding included", () => {
    const img = rgbFromCmyk(Uint8Array.from(INKS.flat()), 4, 1);
    assert.deepEqual([...img.data], PIL_RGB.flat());
    // It rounds: (255 − 30)·(255 − 200)/255 = 48.5 gives red 49, where a truncating formula (Chromium's) gives 48.
    assert.equal(img.data[6], 49);
  });

  test('with the Adobe marker (inverted inks, as libjpeg and PIL write them) and without it', async () => {
    const adobe = await cmykJpeg(blocks(), 64, 16, 100);
    assert.equal((await sharp(adobe).metadata()).space, 'cmyk');
    const plain = withoutAdobeMarker(adobe);
    assert.ok(plain.length < adobe.length, 'the APP14 segment was there and is gone');
    for (const jpeg of [adobe, plain])
      assert.deepEqual(centres(await decodeImage(jpeg, 'cmyk.jpg')), PIL_RGB);
  });

  test('the 25 shared images saved as CMYK classify as torchvision does on the RGB originals', async () => {
    const reference = readNpy(join(REFERENCE, 'inputs.npy'));
    const images: RgbImage[] = [];
    for (const file of meta.images) {
      const rgb = await decodeImage(join(IMAGES, file));
      const jpeg = await cmykJpeg(naiveCmyk(rgb.data), rgb.width, rgb.height, 100);
      images.push(await decodeImage(jpeg, `${file} as CMYK`));
    }
    const classifier = await loadClassifier();
    try {
      const { tensor } = imageBatch(images, classifier.preprocessing);
      const per = tensor.data.length / images.length;
      const meanAbs = images.map((_, n) => {
        let sum = 0;
        for (let i = 0; i < per; i++) sum += Math.abs(tensor.data[n * per + i] - reference.data[n * per + i]);
        return sum / per;
      });
      assert.ok(Math.max(...meanAbs) < 0.02, `mean abs differences ${meanAbs.map((d) => d.toFixed(4))}`);
      const top1 = argmaxRows(await classifier.logits(tensor));
      const agree = top1.filter((c, n) => c === meta.top1_pred[n]).length;
      assert.ok(agree >= 24, `top-1 as torchvision on ${agree} of 25`);
    } finally {
      await classifier.dispose();
    }
  });
});

describe('input checks name the file and say what was expected', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'netvis-decode-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const rejects = (p: Promise<unknown>, message: RegExp) =>
    assert.rejects(p, (err: Error) => {
      assert.ok(err instanceof ImageError, `${err.name}: ${err.message}`);
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });

  test('an empty file', async () => {
    const path = join(dir, 'empty.jpg');
    await writeFile(path, '');
    await rejects(decodeImage(path), /empty\.jpg: empty file \(expected JPEG, PNG or WebP image\)/);
  });

  test('an image above the pixel limit, refused from its header', async () => {
    const path = join(dir, 'huge.png');
    await writeFile(path, await pngClaiming(20000, 20000));
    await rejects(decodeImage(path), /huge\.png: 20000×20000 is above the 268 MP limit; resize it first/);
  });

  test('images too small to classify: decoded, but refused as model input', async () => {
    for (const side of [1, 10]) {
      const path = join(dir, `tiny-${side}.png`);
      const png = await sharp({ create: { width: side, height: 40, channels: 3, background: '#fff' } })
        .png()
        .toBuffer();
      await writeFile(path, png);
      assert.equal((await decodeImage(path)).width, side);
      await rejects(
        readImages([path]),
        new RegExp(
          `tiny-${side}\\.png: ${side}×40 pixels is too small \\(expected at least 32 px on the shorter side\\)`,
        ),
      );
    }
  });
});

test('an ICC profile is ignored: the Adobe RGB chiton decodes to the same bytes as without its profile', async () => {
  const file = join(IMAGES, 'n01955084_chiton.JPEG');
  const icc = (await sharp(file).metadata()).icc;
  assert.ok(icc && icc.length > 0, 'the chiton carries a profile');
  const withProfile = preprocess([await decodeImage(file)]);
  const stripped = withoutIccProfile(readFileSync(file));
  assert.equal((await sharp(stripped).metadata()).icc, undefined);
  assert.deepEqual(preprocess([await decodeImage(stripped)]).data, withProfile.data);
});
