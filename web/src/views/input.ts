// Picking the image: a sample, an uploaded or dropped file; then its top-5 classes.
import type { App } from '../app.js';
import { byId, drawRgb, renderScores } from '../ui/dom.js';

/** "n01774750_tarantula.JPEG" → "tarantula". */
function sampleTitle(file: string): string {
  return file
    .replace(/\.[^.]+$/, '')
    .replace(/^n\d{8}_/, '')
    .replace(/_/g, ' ');
}

export class InputView {
  private serial = 0;
  // What was loaded last, so that another model can look at the same image.
  private last?: { name: string; bytes: () => Promise<ArrayBuffer> };
  private readonly samples = byId('samples', HTMLElement);
  private readonly samplesHint = byId('samples-hint', HTMLElement);
  private readonly top5 = byId('top5', HTMLOListElement);
  private readonly caption = byId('input-name', HTMLElement);
  private readonly canvas = byId('input-canvas', HTMLCanvasElement);

  constructor(private readonly app: App) {
    const file = byId('file', HTMLInputElement);
    file.addEventListener('change', () => {
      const f = file.files?.[0];
      if (f) void this.useFile(f);
      file.value = '';
    });
    const zone = byId('dropzone', HTMLElement);
    for (const target of [zone, byId('input-canvas', HTMLCanvasElement)]) {
      target.addEventListener('dragover', (e) => {
        e.preventDefault();
        zone.classList.add('over');
      });
      target.addEventListener('dragleave', () => zone.classList.remove('over'));
      target.addEventListener('drop', (e) => {
        e.preventDefault();
        zone.classList.remove('over');
        const f = e.dataTransfer?.files[0];
        if (f) void this.useFile(f);
      });
    }
    app.onModel(() => {
      if (this.last) void this.load(this.last.name, this.last.bytes);
    });
  }

  /** Lists the samples and picks the first. */
  async start(): Promise<void> {
    const response = await fetch('samples/index.json');
    const names = response.ok ? ((await response.json()) as string[]) : [];
    this.samples.replaceChildren(
      ...names.map((name) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'sample';
        button.dataset.sample = name;
        button.setAttribute('aria-pressed', 'false');
        const img = document.createElement('img');
        img.src = `samples/${encodeURIComponent(name)}`;
        img.alt = '';
        img.loading = 'lazy';
        img.decoding = 'async';
        const label = document.createElement('span');
        label.textContent = sampleTitle(name);
        button.append(img, label);
        button.addEventListener('click', () => void this.useSample(name));
        return button;
      }),
    );
    this.showScroll(names.length);
    if (names.length > 0) await this.useSample(names[0]);
    else this.caption.textContent = 'No sample images: drop or choose one';
  }

  /** Says how many samples there are and, while some are out of sight, that the strip scrolls (its edge fades). */
  private showScroll(count: number): void {
    const update = () => {
      const { scrollLeft, scrollWidth, clientWidth } = this.samples;
      const more = scrollLeft + clientWidth < scrollWidth - 1;
      this.samples.dataset.more = String(more);
      const hidden = scrollWidth > clientWidth + 1;
      this.samplesHint.textContent =
        count === 0
          ? ''
          : `${count} sample${count === 1 ? '' : 's'}${hidden ? ' · scroll sideways for more →' : ''}`;
    };
    this.samples.addEventListener('scroll', update, { passive: true });
    new ResizeObserver(update).observe(this.samples);
    update();
  }

  private async useSample(name: string): Promise<void> {
    for (const b of this.samples.querySelectorAll<HTMLButtonElement>('button'))
      b.setAttribute('aria-pressed', String(b.dataset.sample === name));
    await this.load(sampleTitle(name), async () => {
      const response = await fetch(`samples/${encodeURIComponent(name)}`);
      if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
      return response.arrayBuffer();
    });
  }

  private async useFile(file: File): Promise<void> {
    for (const b of this.samples.querySelectorAll('button')) b.setAttribute('aria-pressed', 'false');
    await this.load(file.name, () => file.arrayBuffer());
  }

  private async load(name: string, bytes: () => Promise<ArrayBuffer>): Promise<void> {
    const serial = ++this.serial;
    this.last = { name, bytes };
    this.app.leaveImage();
    this.top5.dataset.state = 'loading';
    this.caption.textContent = `${name}: classifying…`;
    try {
      const data = await bytes();
      const result = await this.app.client.run({ type: 'image', bytes: data, name }, undefined, [data])
        .result;
      if (serial !== this.serial) return;
      drawRgb(this.canvas, result.crop);
      this.canvas.setAttribute(
        'aria-label',
        `${name}, as the model sees it (${result.crop.width}×${result.crop.height})`,
      );
      this.caption.textContent = name;
      renderScores(this.top5, result.top, (i) => this.app.name(i));
      this.top5.dataset.state = 'done';
      this.app.setImage({ serial, name, crop: result.crop, top: result.top });
    } catch (err) {
      if (serial !== this.serial) return;
      this.top5.dataset.state = 'error';
      this.top5.replaceChildren();
      this.caption.textContent = (err as Error).message;
      this.canvas.getContext('2d')?.clearRect(0, 0, this.canvas.width, this.canvas.height);
      this.canvas.setAttribute('aria-label', 'No image: the file could not be used');
      this.app.clearImage();
    }
  }
}
