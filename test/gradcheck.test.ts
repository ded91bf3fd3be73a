import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileGradient } from '../src/autodiff/compile.js';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import { nodeBackend } from '../src/runtime/node.js';
import { tensorInfo } from '../src/runtime/probe.js';
import { readNpy } from './support/npy.js';
import { FIXTURES, relativeL2 } from './support/shared.js';

const meta = JSON.parse(readFileSync(join(FIXTURES, 'meta.json'), 'utf8')) as {
  nets: Record<string, { targets: number[]; ops: string[] }>;
};

for (const [name, net] of Object.entries(meta.nets)) {
  test(`${name}: logits and input gradient match PyTorch autograd (ops: ${net.ops.join(', ')})`, async () => {
    const model = decodeModel(readFileSync(join(FIXTURES, `${name}.onnx`)), name);
    const x = readNpy(join(FIXTURES, `${name}.input.npy`));
    const logitsRef = readNpy(join(FIXTURES, `${name}.logits.npy`));
    const gradRef = readNpy(join(FIXTURES, `${name}.grad.npy`));
    const feeds = { input: { type: 'float32' as const, dims: x.dims, data: x.data } };
    const compiled = compileGradient(model, {}, await tensorInfo(nodeBackend, model, feeds));
    const [n, k] = logitsRef.dims;
    const seed = new Float32Array(n * k);
    net.targets.forEach((t, i) => (seed[i * k + t] = 1));
    const session = await nodeBackend.createSession(encodeModel(compiled.model));
    try {
      const out = await session.run({ ...feeds, dlogits: { type: 'float32', dims: [n, k], data: seed } });
      const logits = out.logits.data as Float32Array;
      const maxDiff = logitsRef.data.reduce((m, v, i) => Math.max(m, Math.abs(v - logits[i])), 0);
      assert.ok(maxDiff <= 1e-4, `logits max abs diff ${maxDiff}`);
      const err = relativeL2(out.dinput.data as Float32Array, gradRef.data);
      assert.ok(err <= 1e-3, `gradient relative L2 error ${err}`);
    } finally {
      await session.release();
    }
  });
}
