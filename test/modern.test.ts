// ViT, ConvNeXt and Swin (../shared/fixtures/modern): logits and input gradients against PyTorch, the
// gradient measured against the float64 truth with the error PyTorch's own float32 gradient makes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileGradient } from '../src/autodiff/compile.js';
import { encodeModel, type onnx } from '../src/onnx/proto.js';
import { nodeBackend } from '../src/runtime/node.js';
import { probeTensorInfo } from '../src/runtime/probe.js';
import { modernMeta, modernModel, MODERN, VIT_HEAD, vitWithRandomHead } from './support/modern.js';
import { readNpy, type NpyArray } from './support/npy.js';
import { relativeL2 } from './support/shared.js';

/** ‖a − b‖/‖b‖, or ‖a‖ when b is all zeros (then only an exact zero passes). */
function relativeError(a: Float32Array, b: Float32Array): number {
  return b.some((v) => v !== 0) ? relativeL2(a, b) : Math.sqrt(a.reduce((s, v) => s + v * v, 0));
}

/** Logits and input gradient of Σᵢ logits[i, tᵢ] for the fixture input. */
async function logitsAndGradient(
  model: onnx.ModelProto,
  x: NpyArray,
  targets: number[],
): Promise<{ logits: Float32Array; grad: Float32Array }> {
  const feeds = { input: { type: 'float32' as const, dims: x.dims, data: x.data } };
  const compiled = compileGradient(model, {}, await probeTensorInfo(nodeBackend, model, feeds));
  const seed = new Float32Array(targets.length * 1000);
  targets.forEach((t, i) => (seed[i * 1000 + t] = 1));
  const session = await nodeBackend.createSession(encodeModel(compiled.model));
  try {
    const out = await session.run({
      ...feeds,
      dlogits: { type: 'float32', dims: [targets.length, 1000], data: seed },
    });
    return { logits: out.logits.data as Float32Array, grad: out.dinput.data as Float32Array };
  } finally {
    await session.release();
  }
}

function check(
  t: { diagnostic(m: string): void },
  got: { logits: Float32Array; grad: Float32Array },
  want: { logits: Float32Array; grad64: Float32Array; torchError: number },
): void {
  const logitsErr = relativeError(got.logits, want.logits);
  const gradErr = relativeError(got.grad, want.grad64);
  const bound = 2 * want.torchError + 1e-6;
  t.diagnostic(
    `logits rel ${logitsErr.toExponential(2)}; gradient rel L2 ${gradErr.toExponential(2)} ` +
      `(PyTorch float32: ${want.torchError.toExponential(2)}, bound ${bound.toExponential(2)})`,
  );
  assert.ok(logitsErr <= 1e-4, `logits relative error ${logitsErr}`);
  assert.ok(gradErr <= bound, `gradient relative L2 error ${gradErr} > ${bound}`);
}

for (const [name, { targets, ops }] of Object.entries(modernMeta)) {
  test(`${name}: logits and input gradient match PyTorch (${Object.keys(ops).length} operator types)`, async (t) => {
    const x = readNpy(join(MODERN, `${name}.input.npy`));
    const grad64 = readNpy(join(MODERN, `${name}.grad64.npy`)).data;
    const torchError = relativeError(readNpy(join(MODERN, `${name}.grad.npy`)).data, grad64);
    const got = await logitsAndGradient(modernModel(name), x, targets);
    const logits = readNpy(join(MODERN, `${name}.logits.npy`)).data;
    check(t, got, { logits, grad64, torchError });
  });
}

// The shared ViT's head is zero (torchvision's initialisation): its test above only shows zeros stay zeros.
test('vit_small_patch16 with a random head: logits and input gradient match PyTorch', async (t) => {
  const meta = JSON.parse(readFileSync(join(VIT_HEAD, 'meta.json'), 'utf8')) as {
    targets: number[];
    torch32_grad_rel_l2: number;
  };
  const x = readNpy(join(MODERN, 'vit_small_patch16.input.npy'));
  const got = await logitsAndGradient(vitWithRandomHead(), x, meta.targets);
  check(t, got, {
    logits: readNpy(join(VIT_HEAD, 'logits.npy')).data,
    grad64: readNpy(join(VIT_HEAD, 'grad64.npy')).data,
    torchError: meta.torch32_grad_rel_l2,
  });
});
