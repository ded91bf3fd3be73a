// Attribution maps as heatmap overlays on the image: one method, or all of them side by side.
import { gaussianBlur } from '../../../src/image/filters.js';
import { COLORMAP_NAMES, type ColormapName } from '../../../src/render/colormap.js';
import { overlayHeatmap } from '../../../src/render/overlay.js';
import type { App, CurrentImage } from '../app.js';
import { StoppedError, type Job } from '../client.js';
import type { AttributionResult, MethodInfo } from '../protocol.js';
import { byId, drawRgb, percent } from '../ui/dom.js';

// Attribution maps are spiky: the top 1% of values saturate so that the rest stays visible.
const CLIP_PERCENTILE = 99;
// Pixel-gradient maps are speckle at 224 px; a small Gaussian (display only, off with "Smooth") shows where they
// concentrate. Chosen by looking at the saliency overlays of the 25 samples.
const SMOOTH_SIGMA = 2;

export class AttributionView {
  private readonly panel = byId('panel-attribution', HTMLElement);
  private readonly method = byId('attr-method', HTMLSelectElement);
  private readonly explain = byId('attr-class', HTMLSelectElement);
  private readonly colormap = byId('attr-colormap', HTMLSelectElement);
  private readonly opacity = byId('attr-opacity', HTMLInputElement);
  private readonly opacityValue = byId('attr-opacity-value', HTMLOutputElement);
  private readonly compare = byId('attr-compare', HTMLInputElement);
  private readonly smooth = byId('attr-smooth', HTMLInputElement);
  private readonly grid = byId('attr-grid', HTMLElement);
  private readonly status = byId('attr-status', HTMLElement);
  private readonly description = byId('attr-method-description', HTMLElement);
  // Maps by image serial, method and class; promises so that each is asked for once.
  private readonly maps = new Map<string, Promise<Float32Array>>();
  // Jobs not finished yet, by method: stopped when the user picks another image or stops showing the method.
  private readonly pending = new Map<Job<AttributionResult>, { key: string; method: string }>();
  private colormapChosen = false;
  private frameRequested = false;

  constructor(private readonly app: App) {
    this.listMethods();
    app.onModel(() => this.listMethods());
    this.colormap.replaceChildren(...COLORMAP_NAMES.map((c) => new Option(c, c)));
    this.colormap.value = 'jet';
    this.method.addEventListener('change', () => this.update());
    this.explain.addEventListener('change', () => this.update());
    this.compare.addEventListener('change', () => this.update());
    this.colormap.addEventListener('change', () => {
      this.colormapChosen = true;
      this.redrawSoon();
    });
    this.smooth.addEventListener('change', () => this.redrawSoon());
    this.opacity.addEventListener('input', () => {
      this.opacityValue.value = `${this.opacity.value}%`;
      this.redrawSoon();
    });
    app.onImage((image) => this.newImage(image));
    app.onImageLeaving(() => {
      for (const job of this.pending.keys()) job.stop();
      this.pending.clear();
    });
    app.onImageCleared(() => this.noImage());
  }

  /** The methods that can explain the current model in the picker (the one picked stays if it still can). */
  private listMethods(): void {
    const picked = this.method.value;
    const methods = this.app.methods;
    this.method.replaceChildren(...methods.map((m) => new Option(m.label, m.id)));
    if (methods.some((m) => m.id === picked)) this.method.value = picked;
    this.compare.disabled = methods.length < 2;
    if (methods.length < 2)
      this.compare.parentElement?.setAttribute('title', 'the library offers one attribution method here');
    else this.compare.parentElement?.removeAttribute('title');
  }

  /** No image: no maps, nothing to explain, controls off until a new image comes. */
  private noImage(): void {
    this.maps.clear();
    this.grid.replaceChildren();
    this.explain.replaceChildren();
    this.status.textContent = 'No image to explain: pick a sample or drop a file.';
    this.panel.dataset.state = 'idle';
    for (const control of [this.method, this.explain, this.compare]) control.disabled = true;
  }

  private newImage(image: CurrentImage): void {
    this.explain.disabled = false;
    this.compare.disabled = this.app.methods.length < 2;
    this.explain.replaceChildren(
      ...image.top.map(
        (t) => new Option(`${this.app.name(t.index)} (${percent(t.probability)})`, String(t.index)),
      ),
    );
    for (const key of this.maps.keys()) if (!key.startsWith(`${image.serial}:`)) this.maps.delete(key);
    this.update();
  }

  private shown(): MethodInfo[] {
    if (this.compare.checked) return [...this.app.methods];
    return this.app.methods.filter((m) => m.id === this.method.value);
  }

  /** Lays out one figure per method shown, then fills each as its map arrives. */
  private update(): void {
    const image = this.app.image;
    if (!image) return;
    const methods = this.shown();
    for (const [job, { key, method }] of this.pending) {
      if (methods.some((m) => m.id === method)) continue;
      job.stop();
      this.pending.delete(job);
      this.maps.delete(key);
    }
    const selected = this.app.methods.find((m) => m.id === this.method.value);
    this.description.textContent = this.compare.checked ? '' : (selected?.description ?? '');
    if (!this.colormapChosen) this.colormap.value = selected?.signed ? 'RdBu_r' : 'jet';
    this.method.disabled = this.compare.checked;
    this.grid.classList.toggle('single', methods.length === 1);
    this.grid.replaceChildren(
      ...methods.map((m) => {
        const figure = document.createElement('figure');
        const canvas = document.createElement('canvas');
        canvas.width = image.crop.width;
        canvas.height = image.crop.height;
        canvas.dataset.method = m.id;
        canvas.dataset.state = 'loading';
        canvas.setAttribute('role', 'img');
        canvas.setAttribute('aria-label', `${m.label} of ${image.name}`);
        const caption = document.createElement('figcaption');
        caption.textContent = `${m.label}: computing…`;
        figure.append(canvas, caption);
        return figure;
      }),
    );
    void this.redraw();
  }

  /** Redraws at the next frame, once however many slider events came in before it. */
  private redrawSoon(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    this.panel.dataset.state = 'running';
    requestAnimationFrame(() => {
      this.frameRequested = false;
      void this.redraw();
    });
  }

  private async redraw(): Promise<void> {
    const image = this.app.image;
    if (!image) return;
    const label = Number(this.explain.value || image.top[0].index);
    const canvases = [...this.grid.querySelectorAll<HTMLCanvasElement>('canvas')];
    this.panel.dataset.state = 'running';
    this.status.textContent = '';
    await Promise.all(
      canvases.map(async (canvas) => {
        const method = this.app.methods.find((m) => m.id === canvas.dataset.method)!;
        const caption = canvas.nextElementSibling as HTMLElement;
        try {
          const map = await this.mapFor(image, method.id, label, (done, total) => {
            if (canvas.isConnected) caption.textContent = `${method.label}: ${done} / ${total}…`;
          });
          if (this.app.image !== image || !canvas.isConnected) return;
          const shown = this.smooth.checked
            ? gaussianBlur({ data: map, dims: [image.crop.height, image.crop.width] }, SMOOTH_SIGMA).data
            : map;
          drawRgb(
            canvas,
            overlayHeatmap(image.crop, shown, {
              alpha: Number(this.opacity.value) / 100,
              colormap: this.colormapFor(method),
              sign: method.signed ? 'all' : 'absolute',
              clipPercentile: CLIP_PERCENTILE,
            }),
          );
          canvas.dataset.state = 'done';
          caption.textContent = `${method.label}: ${this.app.name(label)}`;
        } catch (err) {
          if (err instanceof StoppedError) return;
          canvas.dataset.state = 'error';
          caption.textContent = `${method.label}: failed`;
          this.status.textContent = `${method.label}: ${(err as Error).message}`;
        }
      }),
    );
    if (this.app.image === image && canvases.every((c) => c.isConnected)) {
      this.panel.dataset.state = canvases.some((c) => c.dataset.state === 'error') ? 'error' : 'done';
    }
  }

  /** The colormap chosen, or by default a diverging one for signed maps and jet for the others. */
  private colormapFor(method: MethodInfo): ColormapName {
    if (this.colormapChosen) return this.colormap.value as ColormapName;
    return method.signed ? 'RdBu_r' : 'jet';
  }

  private mapFor(
    image: CurrentImage,
    method: string,
    label: number,
    onProgress: (done: number, total: number) => void,
  ): Promise<Float32Array> {
    const key = `${image.serial}:${method}:${label}`;
    let map = this.maps.get(key);
    if (!map) {
      const job = this.app.client.run({ type: 'attribute', method, label }, (p) =>
        onProgress(p.done, p.total),
      );
      this.pending.set(job, { key, method });
      map = job.result.then((r) => r.map).finally(() => this.pending.delete(job));
      map.catch(() => this.maps.delete(key));
      this.maps.set(key, map);
    }
    return map;
  }
}
