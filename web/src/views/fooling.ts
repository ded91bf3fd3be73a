// Fooling images: pick a target class, watch the steps, then original | fooling image | difference ×10.
import type { RgbImage } from '../../../src/image/types.js';
import type { App } from '../app.js';
import { StoppedError, type Job } from '../client.js';
import type { FoolResult } from '../protocol.js';
import { ClassCombobox } from '../ui/combobox.js';
import { byId, drawRgb, numberFrom, percent, renderScores } from '../ui/dom.js';

/** `128 + gain·(b − a)` per channel: a signed difference centred on mid-grey (as the CLI's figure). */
function differenceImage(a: RgbImage, b: RgbImage, gain: number): RgbImage {
  const data = new Uint8Array(a.data.length);
  for (let i = 0; i < data.length; i++)
    data[i] = Math.min(255, Math.max(0, Math.round(128 + gain * (b.data[i] - a.data[i]))));
  return { data, width: a.width, height: a.height };
}

export class FoolingView {
  private readonly panel = byId('panel-fooling', HTMLElement);
  private readonly target: ClassCombobox;
  private readonly lr = byId('fool-lr', HTMLInputElement);
  private readonly max = byId('fool-max', HTMLInputElement);
  private readonly runButton = byId('fool-run', HTMLButtonElement);
  private readonly stopButton = byId('fool-stop', HTMLButtonElement);
  private readonly progress = byId('fool-progress', HTMLElement);
  private readonly result = byId('fool-result', HTMLElement);
  private job?: Job<FoolResult>;

  constructor(private readonly app: App) {
    this.target = new ClassCombobox(
      byId('fool-target', HTMLInputElement),
      byId('fool-target-list', HTMLUListElement),
      () => app.labels,
    );
    byId('fool-form', HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      void this.run();
    });
    this.stopButton.addEventListener('click', () => this.job?.stop());
    app.onImage((image) => {
      drawRgb(byId('fool-original', HTMLCanvasElement), image.crop);
      if (!this.job) {
        this.clear();
        this.runButton.disabled = false;
      }
    });
    // No image, nothing to fool: the old one's result goes and the button waits for a new image.
    app.onImageCleared(() => {
      this.job?.stop();
      this.clear(true);
      this.progress.textContent = 'No image to fool: pick a sample or drop a file.';
      this.runButton.disabled = true;
    });
  }

  /** Clears the result (and the original too with `all`). */
  private clear(all = false): void {
    for (const id of all ? ['fool-original', 'fool-image', 'fool-diff'] : ['fool-image', 'fool-diff']) {
      const canvas = byId(id, HTMLCanvasElement);
      canvas.getContext('2d')?.clearRect(0, 0, canvas.width, canvas.height);
    }
    this.result.replaceChildren();
    this.progress.textContent = '';
    this.panel.dataset.state = 'idle';
  }

  private async run(): Promise<void> {
    let target: number;
    let learningRate: number;
    let maxIterations: number;
    try {
      if (!this.app.image) throw new Error('pick an image first');
      target = this.target.value();
      learningRate = numberFrom(this.lr);
      maxIterations = numberFrom(this.max, true);
    } catch (err) {
      // A refused request shows only why: a result left under the message would look like its answer.
      this.clear();
      this.progress.textContent = (err as Error).message;
      this.panel.dataset.state = 'invalid';
      return;
    }
    this.clear();
    const name = this.app.name(target);
    this.panel.dataset.state = 'running';
    this.runButton.disabled = true;
    this.stopButton.disabled = false;
    this.progress.textContent = `Fooling the model into "${name}"…`;
    this.job = this.app.client.run({ type: 'fool', target, learningRate, maxIterations }, (p) => {
      this.progress.textContent = `Step ${p.iteration} / ${maxIterations}: the model says ${this.app.name(p.predicted)}`;
    });
    try {
      this.show(await this.job.result);
      this.panel.dataset.state = 'done';
    } catch (err) {
      const stopped = err instanceof StoppedError;
      this.progress.textContent = stopped ? 'Stopped.' : `Fooling failed: ${(err as Error).message}`;
      this.panel.dataset.state = stopped ? 'stopped' : 'error';
    } finally {
      this.job = undefined;
      this.runButton.disabled = !this.app.image;
      this.stopButton.disabled = true;
    }
  }

  private show(r: FoolResult): void {
    drawRgb(byId('fool-original', HTMLCanvasElement), r.original);
    drawRgb(byId('fool-image', HTMLCanvasElement), r.fooled);
    drawRgb(byId('fool-diff', HTMLCanvasElement), differenceImage(r.original, r.fooled, 10));
    const steps = `${r.iterations} step${r.iterations === 1 ? '' : 's'}`;
    this.progress.textContent = r.success
      ? `Fooled after ${steps}.`
      : `Not fooled after ${steps}: try more iterations or a larger learning rate.`;
    const heading = document.createElement('p');
    heading.className = 'prediction';
    heading.innerHTML = 'New prediction: <strong></strong> <span></span>';
    heading.querySelector('strong')!.textContent = this.app.name(r.top[0].index);
    heading.querySelector('span')!.textContent =
      `(${percent(r.top[0].probability)}; was ${this.app.name(r.originalPrediction)})`;
    heading.dataset.index = String(r.top[0].index);
    const norms = document.createElement('p');
    norms.className = 'note';
    norms.textContent = `Change: L∞ ${r.linfPixels.toFixed(2)}, L2 ${r.l2Pixels.toFixed(1)} (0–255 pixel units)`;
    const list = document.createElement('ol');
    list.className = 'top5 small';
    renderScores(list, r.top, (i) => this.app.name(i));
    this.result.replaceChildren(heading, norms, list);
  }
}
