import * as ort from 'onnxruntime-web';
import type { Backend } from './backend.js';
import { ortBackend } from './ort.js';

/** Where onnxruntime-web runs a graph: WebAssembly on the CPU, or WebGPU. */
export type WebProvider = 'wasm' | 'webgpu';

/** How onnxruntime-web loads and runs its WebAssembly. */
export interface WebRuntimeOptions {
  /** URL of the folder serving onnxruntime-web's `ort-wasm-*.{mjs,wasm}` files (ends with `/`). */
  wasmPaths: string;
  /** WASM threads; default: the cores (at most 4) when the page is cross-origin isolated, else 1. */
  threads?: number;
}

/** The WebGPU part of `navigator` (not in TypeScript's DOM library yet). */
interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<unknown> };
}

/** WASM threads need SharedArrayBuffer, which browsers only give cross-origin isolated pages (COOP + COEP). */
export function defaultWasmThreads(): number {
  if (!globalThis.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1));
}

/** Whether this browser has a WebGPU adapter (headless or GPU-less browsers have none). */
export async function hasWebGpu(): Promise<boolean> {
  const gpu = (globalThis.navigator as GpuNavigator | undefined)?.gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

/** Sets onnxruntime-web's global WASM options once, before its first session; returns the thread count. */
export function configureWebRuntime(options: WebRuntimeOptions): number {
  const threads = options.threads ?? defaultWasmThreads();
  ort.env.wasm.wasmPaths = options.wasmPaths;
  ort.env.wasm.numThreads = threads;
  // netvis already runs onnxruntime-web inside its own worker.
  ort.env.wasm.proxy = false;
  return threads;
}

/**
 * An onnxruntime-web backend on one provider. Operators WebGPU lacks run on onnxruntime's CPU fallback; a session that
 * cannot use WebGPU at all fails (rather than silently running on WASM), so that callers know which one they got.
 */
export function webBackend(provider: WebProvider): Backend {
  return ortBackend(`onnxruntime-web (${provider})`, ort, () => ({
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  }));
}

/** The provider to use: `requested` if given, else WebGPU where the browser has an adapter, else WASM. */
export async function chooseWebProvider(requested?: WebProvider): Promise<WebProvider> {
  if (requested) return requested;
  return (await hasWebGpu()) ? 'webgpu' : 'wasm';
}
