// The model: its name and the tensor it uses as logits; open your own (.onnx with labels, picked or dropped).
import type { App } from '../app.js';
import type { ModelInfo } from '../protocol.js';
import { byId } from '../ui/dom.js';

export class ModelView {
  private readonly name = byId('model-current', HTMLElement);
  private readonly logits = byId('model-logits', HTMLElement);
  private readonly status = byId('model-status', HTMLElement);
  private readonly panel = byId('model-panel', HTMLElement);

  constructor(private readonly app: App) {
    this.show(app.model);
    app.onModel((m) => this.show(m));
    const input = byId('model-file', HTMLInputElement);
    input.addEventListener('change', () => {
      if (input.files?.length) void this.open([...input.files]);
      input.value = '';
    });
    const zone = byId('model-drop', HTMLElement);
    zone.addEventListener('dragover', (e) => {
      e.preventDefault();
      zone.classList.add('over');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      zone.classList.remove('over');
      const files = e.dataTransfer?.files;
      if (files?.length) void this.open([...files]);
    });
  }

  private show(model: ModelInfo): void {
    byId('model-name', HTMLElement).textContent = model.modelName;
    this.name.textContent = `${model.modelName}, ${model.labels.length} classes`;
    this.logits.textContent = `Logits: ${model.logits}`;
  }

  /** Sends the files to the worker, which imports them as netvis does in Node; the page then starts over with them. */
  private async open(files: File[]): Promise<void> {
    this.panel.dataset.state = 'loading';
    this.status.textContent = `Opening ${files.map((f) => f.name).join(', ')}…`;
    try {
      const payload = await Promise.all(
        files.map(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })),
      );
      const model = await this.app.client.run(
        { type: 'model', files: payload },
        undefined,
        payload.map((f) => f.bytes),
      ).result;
      this.status.textContent = '';
      this.panel.dataset.state = 'done';
      this.app.setModel(model);
    } catch (err) {
      this.panel.dataset.state = 'error';
      this.status.textContent = (err as Error).message;
    }
  }
}
