// The web app in headless Chromium (Debian's /usr/bin/chromium through playwright-core), served by `netvis serve`.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { centerCrop, decodeImage, IMAGENET_PREPROCESSING, resizeShorterSide } from '../src/image/index.js';
import { loadImageBatch } from '../src/image/load.js';
import { nodeBackend } from '../src/runtime/node.js';
import { IMAGES, ROOT, runCli, SHARED } from './support/shared.js';

const CHROMIUM = process.env.NETVIS_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const WIDE = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
// Generous: the first gradient graph compiles in the page, on two busy cores.
const LONG = { timeout: 120_000 };

let server: ChildProcess | undefined;
let url = '';
let userDataDir = '';
let context: BrowserContext | undefined;
let page: Page;
const pageErrors: string[] = [];

function serve(): Promise<string> {
  // The 25 shared images as samples (netvis ships 6): enough for the strip to scroll.
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'netvis.js'), 'serve', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, NETVIS_SAMPLES: IMAGES },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/\S+\/)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`netvis serve exited with ${code}: ${err}`)));
  });
}

/** Screenshots of the page as it is, at 1280×800 and at phone width (whole page), into test-artifacts/. */
async function screenshots(view: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `web-${view}-1280x800.png`) });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(ARTIFACTS, `web-${view}-390x844.png`), fullPage: true });
  await page.setViewportSize(WIDE);
}

/** What the model sees of an image file on the CLI: decoded, resized and centre-cropped, as RGB bytes. */
async function cliCrop(file: string | Uint8Array): Promise<Uint8Array> {
  const p = IMAGENET_PREPROCESSING;
  return centerCrop(resizeShorterSide(await decodeImage(file), p.resize), p.crop).data;
}

/**
 * Of the pixels an overlay visibly colours (RGB change over 60), the fraction whose four neighbours are coloured too:
 * about 0.1 for per-pixel speckle, 0.7 to 0.9 for maps that read as regions (measured on the 25 samples' saliency).
 */
function coherence(image: number[], shown: number[], size = 224): number {
  const strong = Array.from({ length: size * size }, (_, i) => {
    let d = 0;
    for (let c = 0; c < 3; c++) d += Math.abs(shown[i * 4 + c] - image[i * 4 + c]);
    return d > 60;
  });
  let count = 0;
  let inner = 0;
  for (let y = 1; y < size - 1; y++)
    for (let x = 1; x < size - 1; x++) {
      const i = y * size + x;
      if (!strong[i]) continue;
      count++;
      if (strong[i - 1] && strong[i + 1] && strong[i - size] && strong[i + size]) inner++;
    }
  return inner / Math.max(1, count);
}

/** The input canvas and another canvas as RGBA bytes. */
function canvasPixels(selector: string): Promise<number[]> {
  return page.$eval(selector, (c) => {
    const canvas = c as HTMLCanvasElement;
    return Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data);
  });
}

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set NETVIS_CHROMIUM)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  url = await serve();
  userDataDir = mkdtempSync(join(tmpdir(), 'netvis-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: WIDE,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-quic',
      '--no-first-run',
      '--disable-sync',
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
});

after(async () => {
  await context?.close();
  if (server && server.exitCode === null) {
    server.removeAllListeners('exit');
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGINT');
    await exited;
  }
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

test('the page loads from netvis serve, shows its backend, and classifies samples with the CLI top-1', async () => {
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', LONG);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'COOP/COEP make the page isolated');
  // Headless Chromium without a GPU has no WebGPU adapter: WASM, with threads since the page is isolated.
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'wasm');
  assert.match((await page.textContent('#backend')) ?? '', /^WASM · [2-4] threads$/);

  const sample = 'n02441942_weasel.JPEG';
  const cli = await runCli(['classify', join(IMAGES, sample), '--json']);
  assert.equal(cli.code, 0, cli.stderr);
  const [expected] = JSON.parse(cli.stdout) as { top: { index: number; probability: number }[] }[];

  await page.click(`[data-sample="${sample}"]`);
  await page.waitForFunction(
    (s) =>
      document.querySelector(`[data-sample="${s}"]`)?.getAttribute('aria-pressed') === 'true' &&
      document.querySelector('#top5')?.getAttribute('data-state') === 'done',
    sample,
    LONG,
  );
  const top = await page.$$eval('#top5 li', (lis) =>
    lis.map((li) => ({ index: Number(li.dataset.index), probability: Number(li.dataset.probability) })),
  );
  assert.equal(top.length, 5);
  assert.equal(top[0].index, expected.top[0].index, 'same top-1 as netvis classify');
  assert.ok(Math.abs(top[0].probability - expected.top[0].probability) < 0.02);
  assert.equal(await page.textContent('#input-name'), 'weasel');
});

test('a saliency overlay is drawn with non-uniform heat, and the opacity slider blends it', async () => {
  const overlay = 'canvas[data-method="saliency"][data-state="done"]';
  await page.waitForSelector(overlay, LONG);
  await page.waitForSelector('#panel-attribution[data-state="done"]', LONG);
  await screenshots('attribution');
  // The heat is what the overlay adds to the image: it must vary across the image.
  const [image, shown] = await Promise.all([canvasPixels('#input-canvas'), canvasPixels(overlay)]);
  assert.equal(image.length, 224 * 224 * 4);
  assert.equal(shown.length, image.length);
  const change: number[] = [];
  for (let i = 0; i < image.length; i += 4) {
    change.push(
      Math.abs(shown[i] - image[i]) +
        Math.abs(shown[i + 1] - image[i + 1]) +
        Math.abs(shown[i + 2] - image[i + 2]),
    );
  }
  const strong = change.filter((d) => d > 30).length / change.length;
  assert.ok(Math.max(...change) > 100, 'the strongest attribution is clearly coloured');
  assert.ok(strong > 0.001 && strong < 0.9, `heat covers part of the image, not all or none (${strong})`);
  assert.ok(new Set(change).size > 50, 'many levels of heat');
  // Readable by default: the heat forms regions, not speckle (smoothing off shows the speckle it replaces).
  const byDefault = coherence(image, shown);
  assert.ok(byDefault > 0.5, `coloured pixels form regions by default (coherence ${byDefault.toFixed(2)})`);
  await page.uncheck('#attr-smooth');
  await page.waitForSelector('#panel-attribution[data-state="done"]');
  const speckle = coherence(image, await canvasPixels(overlay));
  assert.ok(speckle < 0.3, `unsmoothed, the map is speckle (coherence ${speckle.toFixed(2)})`);
  await page.check('#attr-smooth');
  await page.waitForSelector('#panel-attribution[data-state="done"]');

  // Opacity 0 shows the image unchanged.
  await page.fill('#attr-opacity', '0');
  await page.waitForFunction(() => document.querySelector('#attr-opacity-value')?.textContent === '0%');
  await page.waitForSelector('#panel-attribution[data-state="done"]');
  assert.deepEqual(await canvasPixels(overlay), image);
  await page.fill('#attr-opacity', '70');
  await page.selectOption('#attr-colormap', 'hot');
  await page.waitForSelector('#panel-attribution[data-state="done"]');
});

test('the attribution methods show side by side on request', async () => {
  await page.check('#attr-compare');
  const methods = await page.$$eval('#attr-grid canvas', (cs) =>
    cs.map((c) => c.getAttribute('data-method')),
  );
  for (const m of ['saliency', 'smoothgrad', 'ig', 'gradcam', 'occlusion']) assert.ok(methods.includes(m), m);
  assert.equal(await page.isDisabled('#attr-method'), true);
  // The single-gradient methods and Grad-CAM come first; those that run many inputs are left to the manual check.
  await page.waitForFunction(
    () =>
      ['saliency', 'input-x-gradient', 'guided-backprop', 'gradcam'].every(
        (m) => document.querySelector(`canvas[data-method="${m}"]`)?.getAttribute('data-state') === 'done',
      ),
    null,
    LONG,
  );
  await page.screenshot({ path: join(ARTIFACTS, 'web-attribution-compare-1280x800.png'), fullPage: true });
  // Back to one method: the maps still computing for the others are stopped.
  await page.uncheck('#attr-compare');
  await page.waitForSelector('#panel-attribution[data-state="done"]', LONG);
  assert.equal(await page.$$eval('#attr-grid canvas', (cs) => cs.length), 1);
});

test('an uploaded or dropped image is classified in the page; a file that is no image says so', async () => {
  await page.setInputFiles('#file', {
    name: 'notes.jpg',
    mimeType: 'image/jpeg',
    buffer: Buffer.from('not an image'),
  });
  await page.waitForSelector('#top5[data-state="error"]', { ...LONG, state: 'attached' });
  assert.match((await page.textContent('#input-name')) ?? '', /^notes\.jpg: not an image/);

  const sample = 'n02117135_hyena.JPEG';
  await page.setInputFiles('#file', join(IMAGES, sample));
  await page.waitForFunction(
    (name) =>
      document.querySelector('#input-name')?.textContent === name &&
      document.querySelector('#top5')?.getAttribute('data-state') === 'done',
    sample,
    LONG,
  );
  assert.equal(await page.getAttribute('#top5 li', 'data-index'), '276');

  // Dropped on the drop zone: a file the page made itself.
  await page.evaluate(async () => {
    const bytes = await (await fetch('samples/n01774750_tarantula.JPEG')).arrayBuffer();
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'dropped.jpg', { type: 'image/jpeg' }));
    document
      .querySelector('#dropzone')!
      .dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true }));
  });
  await page.waitForFunction(
    () =>
      document.querySelector('#input-name')?.textContent === 'dropped.jpg' &&
      document.querySelector('#top5')?.getAttribute('data-state') === 'done',
    null,
    LONG,
  );
  assert.equal(await page.getAttribute('#top5 li', 'data-index'), '76');
});

test('fooling with target "stingray" shows the steps, the three images and the new prediction', async () => {
  await page.click('[data-sample="n01774750_tarantula.JPEG"]');
  await page.waitForFunction(
    () => document.querySelector('#top5 li')?.getAttribute('data-index') === '76',
    null,
    LONG,
  );
  await page.click('#tab-fooling');
  assert.equal(await page.isVisible('#panel-fooling'), true);
  // Autocomplete over the labels, by keyboard.
  await page.fill('#fool-target', 'stingr');
  await page.waitForSelector('#fool-target-list li[data-index="6"]');
  await page.press('#fool-target', 'ArrowDown');
  await page.press('#fool-target', 'Enter');
  assert.equal(await page.inputValue('#fool-target'), 'stingray');
  await page.click('#fool-run');
  await page.waitForSelector('#panel-fooling[data-state="done"]', LONG);
  assert.match((await page.textContent('#fool-progress')) ?? '', /^Fooled after \d+ steps?\.$/);
  assert.equal(await page.getAttribute('#fool-result .prediction', 'data-index'), '6');
  assert.equal(await page.textContent('#fool-result .prediction strong'), 'stingray');
  const [original, fooled, diff] = await Promise.all(
    ['#fool-original', '#fool-image', '#fool-diff'].map((s) => canvasPixels(s)),
  );
  assert.notDeepEqual(fooled, original, 'the fooling image differs from the original');
  assert.ok(
    diff.some((v, i) => i % 4 !== 3 && Math.abs(v - 128) > 20),
    'the ×10 difference shows the change',
  );
  await screenshots('fooling');
});

test('a 10-iteration class visualization runs in the page and its image changes between frames', async () => {
  await page.click('#tab-classviz');
  await page.fill('#cv-class', 'tarantula');
  await page.fill('#cv-iterations', '10');
  // Record a hash of the canvas at every frame the page draws.
  await page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('#cv-canvas')!;
    const frames: { iteration: number; hash: number }[] = [];
    (window as unknown as { cvFrames: typeof frames }).cvFrames = frames;
    new MutationObserver(() => {
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let hash = 0;
      for (let i = 0; i < data.length; i++) hash = (Math.imul(hash, 31) + data[i]) | 0;
      frames.push({ iteration: Number(canvas.dataset.iteration), hash });
    }).observe(canvas, { attributes: true, attributeFilter: ['data-iteration'] });
  });
  await page.click('#cv-start');
  await page.waitForSelector('#panel-classviz[data-state="done"]', LONG);
  assert.equal(await page.textContent('#cv-status'), 'Iteration 10 / 10');
  assert.match((await page.textContent('#cv-score')) ?? '', /^Score -?\d+\.\d\d/);
  const frames = await page.evaluate(
    () => (window as unknown as { cvFrames: { iteration: number; hash: number }[] }).cvFrames,
  );
  const drawn = frames.filter((f) => f.iteration > 0);
  assert.deepEqual(
    drawn.map((f) => f.iteration),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  for (let i = 1; i < drawn.length; i++)
    assert.notEqual(drawn[i].hash, drawn[i - 1].hash, `frame ${i + 1} changed`);
  assert.match((await page.textContent('#cv-result')) ?? '', /^Done\. The model now sees /);
  assert.equal(await page.isEnabled('#cv-gif'), true);
  assert.equal(await page.isEnabled('#cv-png'), true);
  const download = page.waitForEvent('download', LONG);
  await page.click('#cv-gif');
  assert.equal((await download).suggestedFilename(), 'classviz-tarantula.gif');
  await screenshots('classviz');
});

test('class visualization pauses, resumes and stops', async () => {
  await page.fill('#cv-iterations', '1000');
  await page.click('#cv-start');
  const iteration = async () => Number(await page.getAttribute('#cv-canvas', 'data-iteration'));
  await page.waitForFunction(
    () => Number(document.querySelector('#cv-canvas')?.getAttribute('data-iteration')) >= 2,
  );
  // The page stays usable while the worker runs: another tab, autocomplete, and back.
  await page.click('#tab-fooling');
  await page.fill('#fool-target', 'goldf');
  await page.waitForSelector('#fool-target-list li[data-index="1"]');
  await page.click('#tab-classviz');
  await page.click('#cv-pause');
  await page.waitForSelector('#panel-classviz[data-state="paused"]');
  assert.equal(await page.textContent('#cv-pause'), 'Resume');
  assert.equal(await page.getAttribute('#cv-pause', 'aria-pressed'), 'true');
  const held = await iteration();
  await page.click('#cv-pause');
  await page.waitForFunction(
    (n) => Number(document.querySelector('#cv-canvas')?.getAttribute('data-iteration')) > n,
    held,
    LONG,
  );
  await page.click('#cv-stop');
  await page.waitForSelector('#panel-classviz[data-state="stopped"]', LONG);
  const last = await iteration();
  assert.ok(last > held && last < 1000, `stopped at ${last}`);
  assert.equal(await page.textContent('#cv-status'), `Iteration ${last} / 1000`);
  assert.match((await page.textContent('#cv-result')) ?? '', new RegExp(`^Stopped at iteration ${last}\\.`));
  assert.equal(await page.isEnabled('#cv-start'), true);
  assert.equal(await page.isDisabled('#cv-stop'), true);
});

test('the page decodes as the CLI does: ICC profiles ignored, CMYK within one level', async () => {
  // The hyena carries an sRGB profile and the chiton an Adobe RGB one; the CMYK hyena has real black ink (libvips's
  // profile conversion), which Chromium converts with truncation where PIL rounds.
  const cmyk = await sharp(join(IMAGES, 'n02117135_hyena.JPEG')).toColourspace('cmyk').jpeg().toBuffer();
  const cases: { name: string; bytes: Buffer; maxDiff: number }[] = [
    { name: 'n02117135_hyena.JPEG', bytes: readFileSync(join(IMAGES, 'n02117135_hyena.JPEG')), maxDiff: 0 },
    { name: 'n01955084_chiton.JPEG', bytes: readFileSync(join(IMAGES, 'n01955084_chiton.JPEG')), maxDiff: 0 },
    { name: 'hyena-cmyk.jpg', bytes: cmyk, maxDiff: 1 },
  ];
  for (const c of cases) {
    await page.setInputFiles('#file', { name: c.name, mimeType: 'image/jpeg', buffer: c.bytes });
    await page.waitForFunction(
      (name) =>
        document.querySelector('#input-name')?.textContent === name &&
        document.querySelector('#top5')?.getAttribute('data-state') === 'done',
      c.name,
      LONG,
    );
    const shown = await canvasPixels('#input-canvas');
    const expected = await cliCrop(c.bytes);
    let worst = 0;
    for (let i = 0, j = 0; j < expected.length; i += 4, j += 3)
      for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(shown[i + k] - expected[j + k]));
    assert.ok(worst <= c.maxDiff, `${c.name}: page and CLI pixels differ by up to ${worst}`);
  }
});

test('the sample strip says how many samples there are, and that it scrolls only when some are out of sight', async () => {
  const count = await page.$$eval('#samples button', (b) => b.length);
  const served = await page.evaluate(
    async () => ((await (await fetch('samples/index.json')).json()) as unknown[]).length,
  );
  assert.equal(count, served, 'one button per sample the server lists');
  const hint = async () => (await page.textContent('#samples-hint')) ?? '';
  const strip = () =>
    page.$eval('#samples', (el) => ({
      scrollWidth: el.scrollWidth,
      clientWidth: el.clientWidth,
      overflow: getComputedStyle(el).overflowX,
      more: (el as HTMLElement).dataset.more,
    }));
  const wide = await strip();
  const fits = wide.scrollWidth <= wide.clientWidth + 1;
  assert.equal(
    await hint(),
    `${count} samples${fits ? '' : ' · scroll sideways for more →'}`,
    'scrolling mentioned only when some are out of sight',
  );
  assert.equal(wide.more, String(!fits));
  // A strip narrower than its samples says that it scrolls.
  await page.$eval('#samples', (el) => ((el as HTMLElement).style.width = '100px'));
  try {
    await page.waitForFunction(
      () => document.querySelector('#samples-hint')?.textContent?.includes('scroll'),
      undefined,
      LONG,
    );
    assert.equal(await hint(), `${count} samples · scroll sideways for more →`);
    const narrow = await strip();
    assert.ok(narrow.scrollWidth > narrow.clientWidth, 'more samples than fit in 100 px');
    assert.equal(narrow.overflow, 'scroll', 'a scrollbar is always shown');
    assert.equal(narrow.more, 'true', 'the right edge fades while samples are out of sight');
    await page.$eval('#samples', (el) => el.scrollTo({ left: el.scrollWidth }));
    await page.waitForSelector('#samples[data-more="false"]');
    await page.$eval('#samples', (el) => el.scrollTo({ left: 0 }));
    await page.waitForSelector('#samples[data-more="true"]');
  } finally {
    await page.$eval('#samples', (el) => ((el as HTMLElement).style.width = ''));
  }
});

test('an invalid target clears the previous fooling result and says why', async () => {
  await page.click('#tab-fooling');
  await page.fill('#fool-target', 'stingray');
  await page.fill('#fool-max', '3');
  await page.click('#fool-run');
  await page.waitForSelector('#panel-fooling[data-state="done"]', LONG);
  assert.notEqual(await page.textContent('#fool-result'), '', 'a result to go stale');
  await page.fill('#fool-target', 'stingrayy');
  await page.click('#fool-run');
  await page.waitForSelector('#panel-fooling[data-state="invalid"]');
  assert.match((await page.textContent('#fool-progress')) ?? '', /stingrayy/);
  assert.equal(await page.textContent('#fool-result'), '', 'no old result under the message');
  for (const id of ['#fool-image', '#fool-diff'])
    assert.ok(
      (await canvasPixels(id)).every((v) => v === 0),
      `${id} is blank`,
    );
  await page.fill('#fool-max', '100');
  await screenshots('invalid-target');
});

test('a failed upload clears the old image and everything about it, and Fool waits for a new image', async () => {
  await page.click('#tab-attribution');
  await page.waitForSelector('#attr-grid canvas[data-method="saliency"]', { state: 'attached' });
  await page.setInputFiles('#file', {
    name: 'broken.jpg',
    mimeType: 'image/jpeg',
    buffer: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00]),
  });
  await page.waitForSelector('#top5[data-state="error"]', { ...LONG, state: 'attached' });
  assert.match((await page.textContent('#input-name')) ?? '', /^broken\.jpg: not an image/);
  assert.ok(
    (await canvasPixels('#input-canvas')).every((v) => v === 0),
    'the old image is gone',
  );
  assert.equal(await page.$$eval('#top5 li', (lis) => lis.length), 0);
  assert.equal(await page.$$eval('#attr-grid canvas', (cs) => cs.length), 0, 'no map of the old image');
  assert.equal(await page.isDisabled('#attr-class'), true);
  assert.match((await page.textContent('#attr-status')) ?? '', /^No image to explain/);
  await screenshots('failed-upload');
  await page.click('#tab-fooling');
  assert.equal(await page.isDisabled('#fool-run'), true, 'nothing to fool');
  assert.match((await page.textContent('#fool-progress')) ?? '', /^No image to fool/);
  for (const id of ['#fool-original', '#fool-image', '#fool-diff'])
    assert.ok(
      (await canvasPixels(id)).every((v) => v === 0),
      `${id} is blank`,
    );
  await screenshots('failed-upload-fooling');
  // A new image brings everything back.
  await page.click('[data-sample="n02441942_weasel.JPEG"]');
  await page.waitForSelector('#top5[data-state="done"]', LONG);
  assert.equal(await page.isEnabled('#fool-run'), true);
  await page.click('#tab-attribution');
});

test('refused class-visualization settings leave no stale counter', async () => {
  await page.click('#tab-classviz');
  await page.fill('#cv-iterations', '100000');
  await page.dispatchEvent('#cv-iterations', 'change');
  await page.click('#cv-start');
  await page.waitForSelector('#panel-classviz[data-state="invalid"]');
  assert.match(
    (await page.textContent('#cv-result')) ?? '',
    /Iterations: expected a whole number from 1 to 2000/,
  );
  const status = (await page.textContent('#cv-status')) ?? '';
  assert.doesNotMatch(status, /100000/);
  assert.match(status, /^Iteration 0 \/ \d+$/);
  await page.fill('#cv-iterations', '100');
});

test('asked for WebGPU where there is none, the page falls back to WASM and says so', async () => {
  const other = await context!.newPage();
  try {
    other.on('pageerror', (e) => pageErrors.push(e.message));
    await other.goto(`${url}?backend=webgpu`);
    await other.waitForSelector('body[data-ready="true"]', LONG);
    await other.waitForSelector('#top5[data-state="done"]', LONG);
    assert.equal(await other.getAttribute('#backend', 'data-backend'), 'wasm');
    assert.match((await other.textContent('#backend')) ?? '', /^WASM · \d threads? \(WebGPU failed\)$/);
    assert.match((await other.getAttribute('#backend', 'title')) ?? '', /WebGPU could not run the model/);
  } finally {
    await other.close();
  }
});

test("the fooling target's autocomplete tells the two cranes apart; either display name or wnid is taken", async () => {
  await page.click('#tab-fooling');
  await page.fill('#fool-target', 'crane');
  await page.waitForSelector('#fool-target-list li[data-index="517"]');
  const options = await page.$$eval('#fool-target-list li', (lis) =>
    lis.filter((li) => ['134', '517'].includes(li.dataset.index!)).map((li) => li.textContent),
  );
  assert.deepEqual(options.sort(), ['crane (n02012849)', 'crane (n03126707)']);
  await page.click('#fool-target-list li[data-index="517"]');
  assert.equal(await page.inputValue('#fool-target'), 'crane (n03126707)');
  for (const [typed, shown] of [
    ['crane (n03126707)', 'crane (n03126707)'],
    ['n02012849', 'crane (n02012849)'],
  ]) {
    await page.fill('#fool-target', typed);
    // Every text the progress line shows, from the start of the run.
    await page.evaluate(() => {
      const line = document.querySelector('#fool-progress')!;
      const texts: string[] = [];
      (window as unknown as { foolTexts: string[] }).foolTexts = texts;
      new MutationObserver(() => texts.push(line.textContent ?? '')).observe(line, { childList: true });
    });
    await page.click('#fool-run');
    await page.waitForSelector('#panel-fooling[data-state="running"]');
    await page.click('#fool-stop');
    await page.waitForSelector('#panel-fooling:not([data-state="running"])', LONG);
    const texts = await page.evaluate(() => (window as unknown as { foolTexts: string[] }).foolTexts);
    assert.ok(texts.includes(`Fooling the model into "${shown}"…`), texts.join(' | '));
  }
});

test("the user's own model (softmax_output.onnx, 10 labels) opens from a file input and shows its own probabilities; the methods follow the model (attention ones for a ViT only)", async () => {
  const other = await context!.newPage();
  try {
    other.on('pageerror', (e) => pageErrors.push(e.message));
    await other.goto(url);
    await other.waitForSelector('body[data-ready="true"]', LONG);
    await other.waitForSelector('#top5[data-state="done"]', LONG);
    const methods = () =>
      other.$$eval('#attr-method option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    const attention = ['rollout', 'attention-grad'];
    const offered = await methods();
    assert.ok(offered.includes('gradcam') && !attention.some((m) => offered.includes(m)), offered.join());
    // A ViT (random weights, 1000 classes): the attention methods join the list.
    await other.setInputFiles('#model-file', [
      {
        name: 'vit_small_patch16.onnx',
        mimeType: 'application/octet-stream',
        buffer: readFileSync(join(SHARED, 'fixtures', 'modern', 'vit_small_patch16.onnx')),
      },
      {
        name: 'labels.json',
        mimeType: 'application/json',
        buffer: Buffer.from(JSON.stringify(Array.from({ length: 1000 }, (_, i) => `class ${i}`))),
      },
    ]);
    await other.waitForFunction(
      () => document.querySelector('#model-name')?.textContent === 'vit_small_patch16.onnx',
      null,
      LONG,
    );
    const vit = await methods();
    assert.ok(attention.every((m) => vit.includes(m)) && vit.length === offered.length + 2, vit.join());
    const model = join(SHARED, 'fixtures', 'import', 'softmax_output.onnx');
    const names = Array.from({ length: 10 }, (_, i) => `shape ${i}`);
    await other.setInputFiles('#model-file', [
      { name: 'softmax_output.onnx', mimeType: 'application/octet-stream', buffer: readFileSync(model) },
      { name: 'labels.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(names)) },
    ]);
    await other.waitForFunction(
      () =>
        document.querySelector('#model-name')?.textContent === 'softmax_output.onnx' &&
        document.querySelector('#top5')?.getAttribute('data-state') === 'done' &&
        document.querySelector('#top5 li')?.textContent?.includes('shape'),
      null,
      LONG,
    );
    assert.match(
      (await other.textContent('#model-logits')) ?? '',
      /^Logits: '\/net\/fc\/Gemm_output_0', the scores that the final Softmax turns into 'probs'/,
    );
    // The model's own output 'probs' on the same input (the first sample, preprocessed as the import decided: its
    // fixed 32×32 input), run as the file is by onnxruntime-node.
    const sample = join(IMAGES, (await other.getAttribute('.sample[aria-pressed="true"]', 'data-sample'))!);
    const { tensor } = await loadImageBatch([sample], { ...IMAGENET_PREPROCESSING, resize: 37, crop: 32 });
    const session = await nodeBackend.createSession(readFileSync(model));
    const probs = (await session.run({ input: { type: 'float32', dims: tensor.dims, data: tensor.data } }))
      .probs.data as Float32Array;
    await session.release();
    const shown = await other.$$eval('#top5 li', (lis) =>
      lis.map((li) => ({ index: Number(li.dataset.index), probability: Number(li.dataset.probability) })),
    );
    assert.equal(shown.length, 5);
    const order = Array.from(probs, (p, i) => ({ p, i })).sort((a, b) => b.p - a.p);
    assert.deepEqual(
      shown.map((s) => s.index),
      order.slice(0, 5).map((o) => o.i),
    );
    for (const s of shown)
      assert.ok(Math.abs(s.probability - probs[s.index]) < 1e-4, `${s.probability} vs ${probs[s.index]}`);
    // A CNN again: the attention methods are gone.
    assert.deepEqual(await methods(), offered);
    await other.screenshot({ path: join(ARTIFACTS, 'web-own-model-1280x800.png') });
  } finally {
    await other.close();
  }
});

test('the controls work from the keyboard and all have labels', async () => {
  await page.focus('#tab-classviz');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getAttribute('#tab-attribution', 'aria-selected'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-attribution');
  await page.keyboard.press('End');
  assert.equal(await page.getAttribute('#tab-classviz', 'aria-selected'), 'true');
  const unlabelled = await page.$$eval('input, select, button, canvas', (els) =>
    els
      .filter((el) => {
        if ((el as HTMLInputElement).type === 'file') return !(el as HTMLInputElement).labels?.length;
        const labels = (el as HTMLInputElement).labels;
        return !(labels && labels.length) && !el.getAttribute('aria-label') && !el.textContent?.trim();
      })
      .map((el) => el.id || el.outerHTML.slice(0, 60)),
  );
  assert.deepEqual(unlabelled, []);
  assert.deepEqual(pageErrors, [], 'no errors in the page');
});
