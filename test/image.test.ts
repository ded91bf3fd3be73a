import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Tensor } from '../src/tensor.js';
import {
  centerCrop,
  decodeImage,
  deprocess,
  encodePng,
  gaussianBlur,
  IMAGENET_PREPROCESSING,
  ImageError,
  imageToTensor,
  preprocess,
  resizeBilinear,
  resizeShorterSide,
  roll,
  validRange,
  type RgbImage,
} from '../src/image/index.js';
import { readNpy } from './support/npy.js';

const shared = fileURLToPath(new URL('../../shared/', import.meta.url));

/** A width × height RGB image whose three channels all hold `values` (row-major). */
function grey(width: number, height: number, values: number[]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  values.forEach((v, i) => data.fill(v, i * 3, i * 3 + 3));
  return { data, width, height };
}

/** The red channel of an image, row-major. */
function red(img: RgbImage): number[] {
  return Array.from({ length: img.width * img.height }, (_, i) => img.data[i * 3]);
}

describe('preprocess matches torchvision on the shared images', () => {
  const meta = JSON.parse(readFileSync(join(shared, 'reference/meta.json'), 'utf8')) as { images: string[] };
  let reference: { data: Float32Array; dims: number[] };
  before(() => {
    reference = readNpy(join(shared, 'reference/inputs.npy'));
    assert.deepEqual(reference.dims, [meta.images.length, 3, 224, 224]);
  });

  meta.images.forEach((file, n) => {
    test(file, async () => {
      const t = preprocess([await decodeImage(join(shared, 'images', file))]);
      assert.deepEqual(t.dims, [1, 3, 224, 224]);
      const per = t.data.length;
      let sum = 0;
      let max = 0;
      for (let i = 0; i < per; i++) {
        const d = Math.abs(t.data[i] - reference.data[n * per + i]);
        sum += d;
        max = Math.max(max, d);
      }
      assert.ok(sum / per < 0.01, `mean abs diff ${sum / per}`);
      // Exact PIL arithmetic leaves at most JPEG-decoder residue: one grey level is ~0.0175 here.
      assert.ok(max < 0.018, `max abs diff ${max}`);
    });
  });
});

describe('decodeImage', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'netvis-image-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('rejects a text file, naming it', async () => {
    const path = join(dir, 'cat.txt');
    await writeFile(path, 'not a picture of a cat\n');
    await assert.rejects(decodeImage(path), (err: Error) => {
      assert.ok(err instanceof ImageError);
      assert.match(err.message, /cat\.txt: not an image \(expected JPEG, PNG or WebP\)/);
      return true;
    });
  });

  test('rejects a missing file, naming it', async () => {
    await assert.rejects(decodeImage(join(dir, 'missing.jpg')), (err: Error) => {
      assert.ok(err instanceof ImageError);
      assert.match(err.message, /missing\.jpg: no such file/);
      return true;
    });
  });

  test('rejects a buffer above the 268 MP limit before decoding it', async () => {
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    // Rewrite the frame header (SOF0: FF C0, length, precision, height, width) to claim 20000×15000.
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    assert.ok(sof > 0);
    jpeg.writeUInt16BE(15000, sof + 5);
    jpeg.writeUInt16BE(20000, sof + 7);
    await assert.rejects(decodeImage(jpeg, 'huge.jpg'), (err: Error) => {
      assert.ok(err instanceof ImageError);
      assert.match(err.message, /huge\.jpg: 20000×15000 is above the 268 MP limit; resize it first/);
      return true;
    });
  });

  test('rejects a truncated JPEG as corrupt', async () => {
    const noise = Uint8Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7919) % 251);
    const jpeg = await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer();
    await assert.rejects(decodeImage(jpeg.subarray(0, jpeg.length >> 1), 'cut.jpg'), (err: Error) => {
      assert.ok(err instanceof ImageError);
      assert.match(err.message, /cut\.jpg: corrupt jpeg image/);
      return true;
    });
  });

  test('flattens a PNG with alpha onto white, to 3 channels', async () => {
    const rgba = Uint8Array.from([0, 0, 0, 0, 200, 100, 50, 255]);
    const png = await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } })
      .png()
      .toBuffer();
    const img = await decodeImage(png);
    assert.equal(img.data.length, 2 * 1 * 3);
    assert.deepEqual([...img.data], [255, 255, 255, 200, 100, 50]);
  });

  test('expands greyscale to RGB', async () => {
    const png = await sharp(Uint8Array.from([10, 20, 30]), { raw: { width: 3, height: 1, channels: 1 } })
      .png()
      .toBuffer();
    const img = await decodeImage(png);
    assert.deepEqual([...img.data], [10, 10, 10, 20, 20, 20, 30, 30, 30]);
  });

  test('turns an EXIF-rotated JPEG upright', async () => {
    // 40×20, left half red and right half blue; orientation 6 means "rotate 90° clockwise to view",
    // which puts the left half on top.
    const raw = new Uint8Array(40 * 20 * 3);
    for (let i = 0; i < 40 * 20; i++) raw[i * 3 + (i % 40 < 20 ? 0 : 2)] = 255;
    const jpeg = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const img = await decodeImage(jpeg);
    assert.equal(img.width, 20);
    assert.equal(img.height, 40);
    const at = (x: number, y: number) => [...img.data.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3)];
    assert.ok(at(10, 5)[0] > 200 && at(10, 5)[2] < 50, `top is red: ${at(10, 5)}`);
    assert.ok(at(10, 34)[2] > 200 && at(10, 34)[0] < 50, `bottom is blue: ${at(10, 34)}`);
  });

  test('encodePng round-trips through decodeImage', async () => {
    const img = grey(3, 2, [0, 1, 2, 253, 254, 255]);
    assert.deepEqual(await decodeImage(await encodePng(img)), img);
  });
});

describe('resizeBilinear (Pillow BILINEAR)', () => {
  test('keeps a constant image constant, up and down', () => {
    const img = grey(7, 5, new Array(35).fill(173));
    for (const [w, h] of [
      [3, 2],
      [16, 11],
      [7, 1],
    ]) {
      assert.deepEqual(red(resizeBilinear(img, w, h)), new Array(w * h).fill(173));
    }
  });

  test('downscales 2× with a triangle twice as wide (antialias), not a 2-pixel average', () => {
    // Scale 2, support 2: output 0 has centre 1.0 and reads pixels 0..2 with weights 0.75, 0.75,
    // 0.25 (normalised 3/7, 3/7, 1/7): (0·3 + 100·3 + 200)/7 = 71.4 → 71. Output 1 has centre 3.0,
    // pixels 1..3 with 1/7, 3/7, 3/7: (100 + 600 + 765)/7 = 209.3 → 209 (Pillow gives [71, 209]).
    assert.deepEqual(red(resizeBilinear(grey(4, 1, [0, 100, 200, 255]), 2, 1)), [71, 209]);
    // The same along the vertical axis.
    assert.deepEqual(red(resizeBilinear(grey(1, 4, [0, 100, 200, 255]), 1, 2)), [71, 209]);
  });

  test('upscales with pixel centres at +0.5 and fixed-point rounding', () => {
    // Scale 0.5, support 1: centres 0.25, 0.75, 1.25, 1.75; the inner two mix 0 and 255 as
    // 3/4·0 + 1/4·255 = 63.75 → 64 and 1/4·0 + 3/4·255 = 191.25 → 191 (Pillow gives [0, 64, 191, 255]).
    assert.deepEqual(red(resizeBilinear(grey(2, 1, [0, 255]), 4, 1)), [0, 64, 191, 255]);
  });

  test('rounds weights to 22-bit fixed point, as Pillow does', () => {
    // 4 → 1: centre 2, support 4, weights 0.625, 0.875, 0.875, 0.625 (normalised 5/24, 7/24, 7/24,
    // 5/24). In exact arithmetic (235·5 + 218·7 + 144·7 + 187·5)/24 = 193.5 would round to 194, but
    // the integer weights 873813 and 1223339 (of 2^22) sum to 20 short of the half: Pillow gives 193.
    assert.deepEqual(red(resizeBilinear(grey(4, 1, [235, 218, 144, 187]), 1, 1)), [193]);
  });

  test('resamples rows first, rounding to 8 bits between the passes', () => {
    // Rows first: 204,60 → 132 and 15,81 → 48, then the middle of 3 output rows averages them: 90.
    // Columns first would round 109.5 → 110 and 70.5 → 71, then give 90.5 → 91 (Pillow gives 90).
    const out = resizeBilinear(grey(2, 2, [204, 60, 15, 81]), 1, 3);
    assert.deepEqual(red(out), [132, 90, 48]);
  });

  test('rejects sizes that are not whole positive pixels', () => {
    assert.throws(() => resizeBilinear(grey(2, 2, [0, 0, 0, 0]), 0, 2), RangeError);
    assert.throws(() => resizeBilinear(grey(2, 2, [0, 0, 0, 0]), 2, 1.5), RangeError);
  });
});

describe('torchvision geometry', () => {
  test('resizeShorterSide: shorter side to size, longer truncated', () => {
    const size = (w: number, h: number) => {
      const out = resizeShorterSide(grey(w, h, []), 256);
      return [out.width, out.height];
    };
    assert.deepEqual(size(500, 375), [341, 256]);
    assert.deepEqual(size(375, 500), [256, 341]);
    assert.deepEqual(size(160, 160), [256, 256]);
    assert.deepEqual(size(150, 200), [256, 341]);
    assert.deepEqual(size(500, 238), [537, 256]);
  });

  test('centerCrop offsets round half to even', () => {
    // Width 9 → left = round(3.5) = 4; height 7 → top = round(2.5) = 2 (not 3).
    const img = grey(
      9,
      7,
      Array.from({ length: 63 }, (_, i) => i),
    );
    const crop = centerCrop(img, 2);
    assert.deepEqual(red(crop), [2 * 9 + 4, 2 * 9 + 5, 3 * 9 + 4, 3 * 9 + 5]);
    assert.throws(() => centerCrop(img, 8), RangeError);
  });
});

describe('preprocess, imageToTensor, deprocess, validRange', () => {
  test('normalises (x/255 - mean)/std per channel into NCHW', () => {
    const img: RgbImage = { data: Uint8Array.from([0, 128, 255, 255, 0, 128]), width: 2, height: 1 };
    const t = imageToTensor(img);
    assert.deepEqual(t.dims, [1, 3, 1, 2]);
    const { mean, std } = IMAGENET_PREPROCESSING;
    const expected = [0, 255, 128, 0, 255, 128].map((v, i) => (v / 255 - mean[i >> 1]) / std[i >> 1]);
    expected.forEach((v, i) => assert.ok(Math.abs(t.data[i] - v) < 1e-6, `${i}: ${t.data[i]} vs ${v}`));
  });

  test('stacks images as N×3×crop×crop', () => {
    const t = preprocess([grey(300, 260, []), grey(260, 400, [])]);
    assert.deepEqual(t.dims, [2, 3, 224, 224]);
  });

  test('deprocess inverts preprocessing and clamps out-of-range values', () => {
    const img: RgbImage = { data: Uint8Array.from([0, 17, 99, 128, 254, 255]), width: 2, height: 1 };
    const t = imageToTensor(img);
    assert.deepEqual(deprocess(t), [img]);
    const [lo, hi] = validRange()[1];
    const out = deprocess({ data: Float32Array.from([0, 0, lo - 1, hi + 1, 0, 0]), dims: [1, 3, 1, 2] });
    assert.deepEqual([out[0].data[1], out[0].data[4]], [0, 255]);
  });

  test('validRange maps 0 and 1 per channel', () => {
    const r = validRange();
    assert.ok(Math.abs(r[0][0] - -0.485 / 0.229) < 1e-12);
    assert.ok(Math.abs(r[2][1] - (1 - 0.406) / 0.225) < 1e-12);
  });
});

/** scipy.ndimage's 1-D Gaussian weights for offsets -radius..radius, from its definition. */
function kernel(sigma: number): number[] {
  const radius = Math.floor(4 * sigma + 0.5);
  const w = Array.from({ length: 2 * radius + 1 }, (_, i) =>
    Math.exp((-0.5 * (i - radius) ** 2) / sigma ** 2),
  );
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / sum);
}

function delta(h: number, w: number, y: number, x: number): Tensor {
  const data = new Float32Array(h * w);
  data[y * w + x] = 1;
  return { data, dims: [1, 1, h, w] };
}

function assertClose(actual: Float32Array, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((v, i) => assert.ok(Math.abs(actual[i] - v) < tol, `${i}: ${actual[i]} vs ${v}`));
}

describe('gaussianBlur (scipy gaussian_filter1d along H then W)', () => {
  test('an interior delta becomes the outer product of the kernel, its sum kept', () => {
    const k = kernel(1); // radius 4: 9 taps, all inside a 9×9 image around its centre
    const out = gaussianBlur(delta(9, 9, 4, 4), 1);
    assertClose(
      out.data,
      k.flatMap((ky) => k.map((kx) => ky * kx)),
    );
    assert.ok(Math.abs(out.data.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  });

  test("a corner delta folds back by 'reflect' (d c b a | a b c d)", () => {
    // On a line of 5 with the delta at 0, output y gathers the taps that land on 0 or on its mirror
    // -1: offsets -y and -(y + 1), so the profile is [k0+k1, k1+k2, k2+k3, k3+k4, k4].
    const k = kernel(1).slice(4);
    const profile = [k[0] + k[1], k[1] + k[2], k[2] + k[3], k[3] + k[4], k[4]];
    const out = gaussianBlur(delta(5, 5, 0, 0), 1);
    assertClose(
      out.data,
      profile.flatMap((py) => profile.map((px) => py * px)),
    );
  });

  test('blurs every plane of an N×C×H×W tensor independently, and a constant stays constant', () => {
    const t: Tensor = { data: new Float32Array(2 * 3 * 4 * 6).fill(0.25), dims: [2, 3, 4, 6] };
    assertClose(gaussianBlur(t, 2.5).data, new Array(t.data.length).fill(0.25));
  });
});

describe('roll (torch.roll over H, W)', () => {
  const t: Tensor = {
    data: Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i),
    dims: [2, 3, 4, 5],
  };

  test('roll(1, 0) moves pixel (0, 0) to (0, 1) in every plane', () => {
    const out = roll(t, 1, 0);
    for (let p = 0; p < 6; p++) {
      assert.equal(out.data[p * 20 + 1], t.data[p * 20]);
      assert.equal(out.data[p * 20], t.data[p * 20 + 4]); // the last column wraps to the first
    }
  });

  test('roll(0, 1) moves row 0 to row 1', () => {
    const out = roll(t, 0, 1);
    assert.deepEqual([...out.data.subarray(5, 10)], [...t.data.subarray(0, 5)]);
  });

  test('rolling back undoes a roll, also for shifts beyond the size', () => {
    for (const [dx, dy] of [
      [2, -3],
      [-7, 9],
      [5, 4],
    ]) {
      assert.deepEqual(roll(roll(t, dx, dy), -dx, -dy), t);
    }
  });
});
