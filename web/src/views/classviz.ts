// Class visualization, live: the image evolving step by step, with pause, resume, stop and downloads.
import type { App } from '../app.js';
import { StoppedError, type Job } from '../client.js';
import type { ClassvizResult, ClassvizSettings } from '../protocol.js';
import { ClassCombobox } from '../ui/combobox.js';
import { byId, download, downloadCanvas, drawRgb, numberFrom, percent, slug } from '../ui/dom.js';

export class ClassvizView {
  private readonly panel = byId('panel-classviz', HTMLElement);
  private readonly target: ClassCombobox;
  private readonly canvas = byId('cv-canvas', HTMLCanvasElement);
  private readonly status = byId('cv-status', HTMLElement);
  private readonly score = byId('cv-score', HTMLElement);
  private readonly result = byId('cv-result', HTMLElement);
  private readonly startButton = byId('cv-start', HTMLButtonElement);
  private readonly pauseButton = byId('cv-pause', HTMLButtonElement);
  private readonly stopButton = byId('cv-stop', HTMLButtonElement);
  private readonly pngButton = byId('cv-png', HTMLButtonElement);
  private readonly gifButton = byId('cv-gif', HTMLButtonElement);
  private readonly iterations = byId('cv-iterations', HTMLInputElement);
  private job?: Job<ClassvizResult>;
  private paused = false;
  private className = '';
  // Steps of the run shown (or the form's default before any): the counter never shows a refused value.
  private total: number;

  constructor(private readonly app: App) {
    this.total = Number(this.iterations.value);
    this.target = new ClassCombobox(
      byId('cv-class', HTMLInputElement),
      byId('cv-class-list', HTMLUListElement),
      () => app.labels,
    );
    byId('cv-form', HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      void this.run();
    });
    this.iterations.addEventListener('change', () => {
      if (this.job || this.canvas.dataset.iteration !== '0') return;
      try {
        this.total = numberFrom(this.iterations, true);
        this.status.textContent = `Iteration 0 / ${this.total}`;
      } catch (err) {
        this.result.textContent = (err as Error).message;
      }
    });
    this.pauseButton.addEventListener('click', () => this.togglePause());
    this.stopButton.addEventListener('click', () => {
      this.job?.stop();
      this.setPaused(false);
    });
    this.pngButton.addEventListener('click', () =>
      downloadCanvas(this.canvas, `classviz-${slug(this.className)}-${this.canvas.dataset.iteration}.png`),
    );
    this.gifButton.addEventListener('click', () => void this.downloadGif());
    // Until the user types a class, offer the one the model sees in the current image.
    app.onImage((image) => {
      const input = byId('cv-class', HTMLInputElement);
      if (!this.job && (input.value === '' || input.dataset.auto === 'true')) {
        this.target.set(image.top[0].index);
        input.dataset.auto = 'true';
      }
    });
    byId('cv-class', HTMLInputElement).addEventListener('input', (e) => {
      delete (e.target as HTMLInputElement).dataset.auto;
    });
    app.client.onPaused = (paused) => {
      if (this.job && paused) this.panel.dataset.state = 'paused';
      else if (this.job) this.panel.dataset.state = 'running';
    };
  }

  private settings(): ClassvizSettings {
    return {
      l2Reg: numberFrom(byId('cv-l2', HTMLInputElement)),
      learningRate: numberFrom(byId('cv-lr', HTMLInputElement)),
      blurEvery: numberFrom(byId('cv-blur-every', HTMLInputElement), true),
      blurSigma: numberFrom(byId('cv-blur-sigma', HTMLInputElement)),
      maxJitter: numberFrom(byId('cv-jitter', HTMLInputElement), true),
      iterations: numberFrom(this.iterations, true),
      seed: numberFrom(byId('cv-seed', HTMLInputElement), true),
    };
  }

  /** Back to no result: a blank canvas at iteration 0 of the last accepted count, no score, nothing to download. */
  private clear(): void {
    this.canvas.getContext('2d')?.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.canvas.dataset.iteration = '0';
    this.status.textContent = `Iteration 0 / ${this.total}`;
    this.score.textContent = '';
    this.result.textContent = '';
    this.pngButton.disabled = true;
    this.gifButton.disabled = true;
  }

  private togglePause(): void {
    if (!this.job) return;
    this.setPaused(!this.paused);
    this.app.client.control(this.paused ? 'pause' : 'resume', this.job.id);
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    this.pauseButton.textContent = paused ? 'Resume' : 'Pause';
    this.pauseButton.setAttribute('aria-pressed', String(paused));
  }

  private async run(): Promise<void> {
    let target: number;
    let settings: ClassvizSettings;
    try {
      target = this.target.value();
      settings = this.settings();
    } catch (err) {
      if (!this.job) this.clear();
      this.result.textContent = (err as Error).message;
      this.panel.dataset.state = 'invalid';
      return;
    }
    this.total = settings.iterations;
    this.className = this.app.name(target);
    this.panel.dataset.state = 'running';
    this.result.textContent = '';
    this.score.textContent = 'Compiling the gradient graph…';
    this.status.textContent = `Iteration 0 / ${settings.iterations}`;
    this.canvas.dataset.iteration = '0';
    this.canvas.setAttribute('aria-label', `Class visualization of ${this.className}`);
    this.startButton.disabled = true;
    this.pauseButton.disabled = false;
    this.stopButton.disabled = false;
    this.pngButton.disabled = true;
    this.gifButton.disabled = true;
    this.setPaused(false);
    this.job = this.app.client.run({ type: 'classviz', target, settings }, (p) => {
      drawRgb(this.canvas, p.frame);
      this.canvas.dataset.iteration = String(p.iteration);
      this.status.textContent = `Iteration ${p.iteration} / ${p.total}`;
      const speed = p.msPerStep === undefined ? '' : ` · ${p.msPerStep.toFixed(0)} ms/step`;
      this.score.textContent = `Score ${p.score.toFixed(2)}${speed}`;
      this.score.dataset.msPerStep = p.msPerStep === undefined ? '' : String(p.msPerStep);
      this.pngButton.disabled = false;
    });
    try {
      const r = await this.job.result;
      const top = r.top[0];
      const verdict = top
        ? `The model now sees ${this.app.name(top.index)} (${percent(top.probability)}).`
        : 'No step ran.';
      this.result.textContent = `${r.stopped ? `Stopped at iteration ${r.iterations}.` : 'Done.'} ${verdict}`;
      if (r.msPerStep !== undefined) this.score.dataset.msPerStep = String(r.msPerStep);
      this.panel.dataset.state = r.stopped ? 'stopped' : 'done';
      this.gifButton.disabled = r.iterations === 0;
    } catch (err) {
      const stopped = err instanceof StoppedError;
      this.result.textContent = stopped
        ? 'Stopped.'
        : `Class visualization failed: ${(err as Error).message}`;
      this.panel.dataset.state = stopped ? 'stopped' : 'error';
    } finally {
      this.job = undefined;
      this.setPaused(false);
      this.startButton.disabled = false;
      this.pauseButton.disabled = true;
      this.stopButton.disabled = true;
    }
  }

  private async downloadGif(): Promise<void> {
    this.gifButton.disabled = true;
    const label = this.gifButton.textContent;
    this.gifButton.textContent = 'Encoding GIF…';
    try {
      const { bytes } = await this.app.client.run({ type: 'gif' }).result;
      download(bytes as Uint8Array<ArrayBuffer>, `classviz-${slug(this.className)}.gif`, 'image/gif');
    } catch (err) {
      this.result.textContent = `GIF failed: ${(err as Error).message}`;
    } finally {
      this.gifButton.textContent = label;
      this.gifButton.disabled = false;
    }
  }
}
