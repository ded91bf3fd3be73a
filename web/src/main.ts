import './style.css';
import type { WebProvider } from '../../src/runtime/web.js';
import { WorkerClient } from './client.js';
import type { BackendInfo } from './protocol.js';
import { App } from './app.js';
import { byId } from './ui/dom.js';
import { setupTabs } from './ui/tabs.js';
import { AttributionView } from './views/attribution.js';
import { ClassvizView } from './views/classviz.js';
import { FoolingView } from './views/fooling.js';
import { InputView } from './views/input.js';
import { ModelView } from './views/model.js';

function showBackend(info: BackendInfo): void {
  const badge = byId('backend', HTMLElement);
  badge.dataset.backend = info.provider;
  if (info.provider === 'webgpu') {
    badge.textContent = 'WebGPU';
    badge.title = 'onnxruntime-web on the GPU (WebGPU), WASM for operators WebGPU lacks';
  } else {
    const threads = info.threads === 1 ? '1 thread' : `${info.threads} threads`;
    badge.textContent = `WASM · ${threads}${info.fallback ? ' (WebGPU failed)' : ''}`;
    badge.title = [
      'onnxruntime-web on the CPU (WebAssembly)',
      info.crossOriginIsolated ? '' : 'one thread: the page is not cross-origin isolated',
      info.fallback ? `WebGPU could not run the model: ${info.fallback}` : '',
    ]
      .filter(Boolean)
      .join('; ');
  }
}

async function start(): Promise<void> {
  const status = byId('status', HTMLElement);
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'netvis' });
  const client = new WorkerClient(worker);
  client.onBackend = showBackend;
  const requested = new URLSearchParams(location.search).get('backend');
  const provider = requested === 'wasm' || requested === 'webgpu' ? (requested as WebProvider) : undefined;
  const init = await client.run({
    type: 'init',
    configUrl: new URL('model/config.json', document.baseURI).href,
    wasmPaths: new URL('ort/', document.baseURI).href,
    provider,
  }).result;
  showBackend(init.backend);
  const app = new App(client, init);
  new ModelView(app);
  setupTabs(byId('views', HTMLElement));
  new AttributionView(app);
  new FoolingView(app);
  new ClassvizView(app);
  await new InputView(app).start();
  status.textContent = '';
  document.body.dataset.ready = 'true';
}

start().catch((err: Error) => {
  const badge = byId('backend', HTMLElement);
  badge.textContent = 'Not loaded';
  badge.dataset.backend = 'none';
  byId('status', HTMLElement).textContent = `netvis could not start: ${err.message}`;
  document.body.dataset.ready = 'error';
});
