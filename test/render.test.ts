import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { RgbImage } from '../src/image/types.js';
import {
  applyColormap,
  classVisualizationFigure,
  differenceImage,
  encodeGif,
  foolingFigure,
  gridFigure,
  normalizeMap,
  overlayHeatmap,
  renderReportHtml,
  saliencyFigure,
} from '../src/render/index.js';

// Figure layout (src/render/figure.ts): 12 px padding around and between tiles; caption lines 20 px + a 4 px gap.
const PAD = 12;
const LINE = 20;
const GAP = 4;

function solid(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = rgb[i % 3];
  return { data, width, height };
}

/** An image whose every pixel differs from its neighbours: (x·7, y·5, (x+y)·3) mod 256. */
function pattern(width: number, height: number, seed = 0): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 7 + seed) % 256;
      data[i + 1] = (y * 5 + seed) % 256;
      data[i + 2] = ((x + y) * 3 + seed) % 256;
    }
  return { data, width, height };
}

function pixel(img: RgbImage, i: number): number[] {
  return Array.from(img.data.subarray(i * 3, i * 3 + 3));
}

function near(actual: number[], expected: number[], tol: number): void {
  assert.ok(
    actual.every((v, i) => Math.abs(v - expected[i]) <= tol),
    `[${actual}] not within ${tol} of [${expected}]`,
  );
}

async function decode(png: Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

function crop(img: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    data.set(
      img.data.subarray(((top + y) * img.width + left) * 3, ((top + y) * img.width + left + width) * 3),
      y * width * 3,
    );
  return { data, width, height };
}

/** Pixels of a region whose darkest channel is below 100 (text is near-black on white). */
function darkPixels(img: RgbImage, left: number, top: number, width: number, height: number): number {
  const region = crop(img, left, top, width, height);
  let n = 0;
  for (let i = 0; i < region.data.length; i += 3)
    if (Math.max(region.data[i], region.data[i + 1], region.data[i + 2]) < 100) n++;
  return n;
}

function assertTileAt(fig: RgbImage, tile: RgbImage, left: number, top: number): void {
  assert.deepEqual(
    crop(fig, left, top, tile.width, tile.height).data,
    tile.data,
    `tile not at (${left}, ${top})`,
  );
}

describe('colormaps', () => {
  const ends = (colormap: 'hot' | 'jet' | 'viridis' | 'RdBu_r') => {
    const img = applyColormap(new Float32Array([0, 1]), 2, 1, { colormap });
    return [pixel(img, 0), pixel(img, 1)];
  };

  it("hot runs from matplotlib's near-black (0.0416, 0, 0) through red and yellow to white", () => {
    const [lo, hi] = ends('hot');
    near(lo, [11, 0, 0], 1);
    assert.deepEqual(hi, [255, 255, 255]);
    // Value v falls in bin floor(256·v), whose colour is matplotlib's segments at x = bin / 255:
    // red ramps from 0.0416 at 0 to 1 at 0.365079, green from there to 0.746032, blue from there to 1.
    const mid = applyColormap(new Float32Array([0, 0.25, 0.5, 0.9, 1]), 5, 1, { colormap: 'hot' });
    near(pixel(mid, 1), [179, 0, 0], 1); // bin 64
    near(pixel(mid, 2), [255, 92, 0], 1); // bin 128
    near(pixel(mid, 3), [255, 255, 157], 1); // bin 230
  });

  it("viridis endpoints match matplotlib's #440154 and #fde725", () => {
    const [lo, hi] = ends('viridis');
    near(lo, [0x44, 0x01, 0x54], 2);
    near(hi, [0xfd, 0xe7, 0x25], 2);
  });

  it('jet runs from dark blue to dark red, and RdBu_r from blue through near-white to red', () => {
    const [jlo, jhi] = ends('jet');
    near(jlo, [0, 0, 128], 1);
    near(jhi, [128, 0, 0], 1);
    const rdbu = applyColormap(new Float32Array([-1, 0, 1]), 3, 1, { sign: 'all' });
    const [neg, zero, pos] = [0, 1, 2].map((i) => pixel(rdbu, i));
    assert.ok(neg[2] > 80 && neg[0] < 20, `negative end [${neg}] is not dark blue`);
    assert.ok(pos[0] > 80 && pos[2] < 40, `positive end [${pos}] is not dark red`);
    assert.ok(Math.min(...zero) > 225, `zero [${zero}] is not near-white`);
  });

  it('defaults to min..max of |map|, like plt.imshow', () => {
    const img = applyColormap(new Float32Array([2, 3, -4]), 3, 1);
    near(pixel(img, 0), [11, 0, 0], 1); // |2| is the minimum
    assert.deepEqual(pixel(img, 2), [255, 255, 255]); // |−4| is the maximum
  });

  it('percentile clipping saturates the top 1 % and spreads the rest', () => {
    const n = 10_000;
    const map = Float32Array.from({ length: n }, (_, i) => i);
    const white = (img: RgbImage) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) if (pixel(img, i).every((v) => v === 255)) out.push(i);
      return out;
    };
    const clipped = white(applyColormap(map, 100, 100, { clipPercentile: 99 }));
    assert.ok(clipped.includes(9900) && clipped.includes(9999));
    assert.ok(clipped.length >= 100 && clipped.length < 150, `${clipped.length} white pixels`);
    assert.ok(!clipped.includes(9800));
    const unclipped = white(applyColormap(map, 100, 100));
    assert.ok(
      unclipped.length < 50 && !unclipped.includes(9900),
      `${unclipped.length} white pixels without clipping`,
    );
  });

  it('sign modes pick the magnitude, one side, or all of a signed map', () => {
    const map = new Float32Array([-2, -1, 0, 1, 2]);
    const norm = (sign: 'absolute' | 'positive' | 'negative' | 'all') =>
      Array.from(normalizeMap(map, { sign }));
    assert.deepEqual(norm('absolute'), [1, 0.5, 0, 0.5, 1]);
    assert.deepEqual(norm('positive'), [0, 0, 0, 0.5, 1]);
    assert.deepEqual(norm('negative'), [1, 0.5, 0, 0, 0]);
    assert.deepEqual(norm('all'), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(Array.from(normalizeMap(new Float32Array(4).fill(3))), [0, 0, 0, 0]);
  });

  it('rejects a map that does not fill the image and a bad percentile', () => {
    assert.throws(() => applyColormap(new Float32Array(5), 2, 2), /do not fill/);
    assert.throws(() => normalizeMap(new Float32Array(4), { clipPercentile: 0 }), /clipPercentile/);
  });
});

describe('overlayHeatmap', () => {
  it('leaves zero-attribution pixels as the photo and blends alpha of the colormap at the peak', () => {
    const image = solid(4, 1, [200, 100, 50]);
    const out = overlayHeatmap(image, new Float32Array([0, 0, 0.5, 1]), { alpha: 0.6 });
    assert.deepEqual(pixel(out, 0), [200, 100, 50]);
    const jetTop = pixel(applyColormap(new Float32Array([0, 1]), 2, 1, { colormap: 'jet' }), 1);
    near(
      pixel(out, 3),
      [0, 1, 2].map((c) => 0.4 * image.data[c] + 0.6 * jetTop[c]),
      1,
    );
    assert.throws(() => overlayHeatmap(image, new Float32Array(3)), /map has 3 values/);
  });
});

describe('figures', () => {
  it('gridFigure places tiles exactly, on white, sized by padding and tiles', async () => {
    const a = pattern(30, 20, 1);
    const b = pattern(30, 20, 2);
    const c = pattern(30, 20, 3);
    const fig = await decode(await gridFigure([[{ image: a }, { image: b }], [{ image: c }]]));
    assert.equal(fig.width, PAD + 30 + PAD + 30 + PAD);
    assert.equal(fig.height, PAD + 20 + PAD + 20 + PAD);
    assertTileAt(fig, a, PAD, PAD);
    assertTileAt(fig, b, PAD + 30 + PAD, PAD);
    assertTileAt(fig, c, PAD, PAD + 20 + PAD);
    assert.deepEqual(pixel(fig, 0), [255, 255, 255]);
    assert.deepEqual(pixel(fig, fig.width * fig.height - 1), [255, 255, 255]);
  });

  it('captions render as dark text in a band above the tile, escaped', async () => {
    const image = solid(200, 40, [220, 220, 220]);
    const plain = await decode(await gridFigure([[{ image }]]));
    assert.equal(darkPixels(plain, 0, 0, plain.width, plain.height), 0);
    for (const caption of ['tarantula', '<b> & "quotes"']) {
      const fig = await decode(await gridFigure([[{ image, caption }]]));
      assert.equal(fig.height, plain.height + LINE + GAP);
      assert.ok(darkPixels(fig, 0, PAD, fig.width, LINE) > 30, `no text drawn for ${caption}`);
      assertTileAt(fig, image, PAD, PAD + LINE + GAP);
    }
    const below = await decode(
      await gridFigure([[{ image, caption: 'tarantula' }]], { captionPosition: 'below' }),
    );
    assertTileAt(below, image, PAD, PAD);
    assert.ok(darkPixels(below, 0, PAD + 40 + GAP, below.width, LINE) > 30);
  });

  it('long captions wrap to the tile width and row titles take a column on the left', async () => {
    const image = solid(100, 40, [220, 220, 220]);
    const fig = await decode(
      await gridFigure([[{ image, caption: 'a rather long caption that cannot fit on one line' }]]),
    );
    assert.ok(fig.height >= PAD + 3 * LINE + GAP + 40 + PAD, `height ${fig.height}: caption did not wrap`);
    const titled = await decode(await gridFigure([[{ image }]], { rowTitles: ['Saliency'] }));
    assert.equal(titled.height, PAD + 40 + PAD);
    assert.ok(titled.width > PAD + 100 + PAD + 60, `width ${titled.width} leaves no room for the row title`);
    assert.ok(darkPixels(titled, 0, PAD, titled.width - PAD - 100, 40) > 30);
    assertTileAt(titled, image, titled.width - PAD - 100, PAD);
    await assert.rejects(gridFigure([[{ image }]], { rowTitles: ['a', 'b'] }), /2 row titles for 1 rows/);
  });

  it('saliencyFigure shows captioned images above their saliency maps', async () => {
    const W = 112;
    const H = 84;
    const images = [1, 2, 3].map((s) => pattern(W, H, s));
    const maps = images.map((_, k) => Float32Array.from({ length: W * H }, (_, i) => Math.sin(i / (50 + k))));
    const captions = ['tarantula', 'quail', 'Chesapeake Bay retriever'];
    for (const overlay of [false, true]) {
      const fig = await decode(await saliencyFigure(images, maps, captions, { overlay }));
      // 'Chesapeake Bay retriever' wraps to 3 lines at 112 px.
      assert.equal(fig.height, PAD + 3 * LINE + GAP + H + PAD + H + PAD, `overlay ${overlay}`);
      const left = fig.width - PAD - 3 * W - 2 * PAD;
      assert.ok(left > PAD + 40, 'no row-title column');
      images.forEach((img, i) => assertTileAt(fig, img, left + i * (W + PAD), PAD + 3 * LINE + GAP));
      const heat = overlay
        ? overlayHeatmap(images[0], maps[0], { clipPercentile: 99 })
        : applyColormap(maps[0], W, H, { colormap: 'hot' });
      assertTileAt(fig, heat, left, PAD + 3 * LINE + GAP + H + PAD);
    }
    await assert.rejects(saliencyFigure(images, maps.slice(1), captions), /3 images, 2 maps/);
  });

  it('foolingFigure shows original, fooling image and the mid-grey-centred difference ×1 and ×10', async () => {
    const W = 128; // wide enough for 'Difference ×10' on one line
    const original = pattern(W, 40, 0);
    const fooled = { ...original, data: original.data.map((v, i) => Math.min(255, v + (i % 5))) };
    const png = await foolingFigure({ original, fooled, originalLabel: 'tarantula', fooledLabel: 'quail' });
    const fig = await decode(png);
    assert.equal(fig.width, PAD + 4 * W + 3 * PAD + PAD);
    const top = PAD + 2 * LINE + GAP;
    assert.equal(fig.height, top + 40 + PAD);
    assertTileAt(fig, original, PAD, top);
    assertTileAt(fig, fooled, PAD + (W + PAD), top);
    assertTileAt(fig, differenceImage(original, fooled), PAD + 2 * (W + PAD), top);
    assertTileAt(fig, differenceImage(original, fooled, 10), PAD + 3 * (W + PAD), top);
    assert.ok(darkPixels(fig, PAD, PAD + LINE, W, LINE) > 30, 'no label under "Original"');
  });

  it('differenceImage is 128 + gain·(b − a), clipped to 0..255', () => {
    const a = { data: new Uint8Array([100, 100, 100, 0, 255, 128]), width: 2, height: 1 };
    const b = { data: new Uint8Array([101, 99, 100, 255, 0, 140]), width: 2, height: 1 };
    assert.deepEqual(Array.from(differenceImage(a, b).data), [129, 127, 128, 255, 0, 140]);
    assert.deepEqual(Array.from(differenceImage(a, b, 10).data), [138, 118, 128, 255, 0, 248]);
  });

  it('classVisualizationFigure puts the frames side by side under class and iteration captions', async () => {
    const W = 176; // wide enough for 'Iteration 100 / 100' on one line
    const frames = [10, 50, 100].map((iteration, k) => ({ image: pattern(W, 60, k), iteration }));
    const fig = await decode(await classVisualizationFigure(frames, 'tarantula', 100));
    assert.equal(fig.width, PAD + 3 * W + 2 * PAD + PAD);
    assert.equal(fig.height, PAD + 2 * LINE + GAP + 60 + PAD);
    frames.forEach((f, i) => assertTileAt(fig, f.image, PAD + i * (W + PAD), PAD + 2 * LINE + GAP));
    assert.ok(darkPixels(fig, PAD, PAD + LINE, W, LINE) > 30, 'no iteration line');
  });
});

describe('encodeGif', () => {
  it('writes a looping GIF89a with one page per frame and the given delay', async () => {
    const frames = Array.from({ length: 12 }, (_, k) => solid(32, 24, [k * 20, 255 - k * 20, 60]));
    const gif = encodeGif(frames, { delayMs: 80 });
    assert.equal(Buffer.from(gif.subarray(0, 6)).toString('latin1'), 'GIF89a');
    const meta = await sharp(gif, { animated: true }).metadata();
    assert.equal(meta.pages, 12);
    assert.equal(meta.width, 32);
    assert.equal(meta.pageHeight, 24);
    assert.deepEqual(meta.delay, Array(12).fill(80));
    assert.equal(meta.loop, 0); // forever
    const { data } = await sharp(gif, { page: 5 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    near(Array.from(data.subarray(0, 3)), [100, 155, 60], 4);
  });

  it('plays once without loop, and rejects frames of different sizes', async () => {
    const once = encodeGif([solid(8, 8, [0, 0, 0]), solid(8, 8, [255, 255, 255])], { loop: false });
    assert.notEqual((await sharp(once, { animated: true }).metadata()).loop, 0);
    assert.throws(() => encodeGif([solid(8, 8, [0, 0, 0]), solid(8, 9, [0, 0, 0])]), /frame 1 is 8×9/);
  });

  it('encodes 100 frames of 224×224 (a class visualization run)', async () => {
    const frames = Array.from({ length: 100 }, (_, k) => pattern(224, 224, k));
    assert.equal((await sharp(encodeGif(frames), { animated: true }).metadata()).pages, 100);
  });
});

describe('renderReportHtml', () => {
  const report = {
    title: 'Saliency <report>',
    meta: { model: 'squeezenet1.1 & friends' },
    sections: [
      {
        title: 'Saliency',
        text: 'First paragraph.\n\nSecond <i>paragraph</i>.',
        figures: [{ src: 'saliency.png', alt: 'saliency "maps"', caption: '<script>alert(1)</script>' }],
      },
    ],
  };

  it('escapes all text and references images by relative path', () => {
    const html = renderReportHtml(report);
    assert.ok(html.startsWith('<!doctype html>'));
    assert.ok(!/<script/i.test(html), 'unescaped <script>');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(html.includes('<title>Saliency &lt;report&gt;</title>'));
    assert.ok(html.includes('squeezenet1.1 &amp; friends'));
    assert.ok(html.includes('<img src="saliency.png" alt="saliency &quot;maps&quot;"'));
    assert.equal(html.match(/<p>/g)?.length, 2);
    assert.ok(html.includes('<meta name="viewport"'));
    assert.ok(!/(href|src)="(https?:)?\/\//.test(html), 'external asset');
  });

  it('renders `backtick` spans as code, their text still escaped', () => {
    const html = renderReportHtml({
      ...report,
      sections: [
        { title: 's', text: 'Run `netvis report --methods <all>` for more; a lone ` stays.', figures: [] },
      ],
    });
    assert.ok(
      html.includes('<p>Run <code>netvis report --methods &lt;all&gt;</code> for more; a lone ` stays.</p>'),
    );
  });

  it('rejects absolute image paths and URLs', () => {
    for (const src of ['/tmp/a.png', 'https://example.com/a.png', 'file:///a.png']) {
      const bad = { ...report, sections: [{ title: 's', figures: [{ src, alt: 'a' }] }] };
      assert.throws(() => renderReportHtml(bad), /not a relative path/);
    }
  });
});
