import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const require = createRequire(import.meta.url);

// onnxruntime-web's runtime for WASM and WebGPU (JSEP build). It loads these from `ort.env.wasm.wasmPaths`, and its
// threads start workers from the .mjs, so both are served as files (under /ort/) instead of being bundled.
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

function onnxRuntimeFiles(): Plugin {
  return {
    name: 'netvis-onnxruntime-files',
    apply: 'build',
    generateBundle() {
      for (const file of ORT_FILES) {
        this.emitFile({
          type: 'asset',
          fileName: `ort/${file}`,
          source: readFileSync(require.resolve(`onnxruntime-web/${file}`)),
        });
      }
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // The model and the samples come from `netvis serve`, not from a public folder.
  publicDir: false,
  resolve: {
    // The onnxruntime-web entry that loads its WASM from wasmPaths rather than embedding the loader.
    conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
  },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
  plugins: [onnxRuntimeFiles()],
});
