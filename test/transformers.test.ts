// Methods that understand tokens: CAMs on ViT and Swin layers, attention rollout and gradient-weighted attention.
// The ViT is ../shared/fixtures/modern/vit_small_patch16 with a random head (its own head is all zeros, so every
// gradient through it is zero); Swin and ConvNeXt are the shared fixtures as they are.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IMAGENET_PREPROCESSING } from '../src/image/types.js';
import {
  gradientWeightedRelevance,
  attentionGradient,
} from '../src/methods/attribution/attention-gradient.js';
import { attentionRollout, rollout } from '../src/methods/attribution/attention-rollout.js';
import { findAttentionLayers } from '../src/methods/attribution/attention.js';
import { findCamLayer } from '../src/methods/attribution/cam.js';
import { ablationCam } from '../src/methods/attribution/ablationcam.js';
import { gradCam } from '../src/methods/attribution/gradcam.js';
import { channelPlanes, fromChannelPlanes, layerLayout } from '../src/methods/attribution/layers.js';
import { oneHot } from '../src/methods/common.js';
import { Classifier } from '../src/model/classifier.js';
import { ClassLabels } from '../src/model/labels.js';
import { GraphView, modulePath, moduleScopes } from '../src/onnx/graph.js';
import type { onnx } from '../src/onnx/proto.js';
import { encodeTensor } from '../src/onnx/tensor-proto.js';
import { nodeBackend } from '../src/runtime/node.js';
import { sliceBatch, type Tensor } from '../src/tensor.js';
import { MODERN, modernModel, vitWithRandomHead } from './support/modern.js';
import { readNpy } from './support/npy.js';
import { relativeL2 } from './support/shared.js';

const labels = ClassLabels.fromJson(Array.from({ length: 1000 }, (_, i) => `class ${i}`));
const classifierOf = (model: onnx.ModelProto, name: string) =>
  new Classifier(model, { labels, preprocessing: IMAGENET_PREPROCESSING }, nodeBackend, name);

let vit: Classifier;
let swin: Classifier;
let convnext: Classifier;
let x: Tensor;

before(() => {
  vit = classifierOf(vitWithRandomHead(), 'vit_small_patch16 (random head)');
  swin = classifierOf(modernModel('swin_mini'), 'swin_mini');
  convnext = classifierOf(modernModel('convnext_mini'), 'convnext_mini');
  x = sliceBatch(readNpy(join(MODERN, 'vit_small_patch16.input.npy')), 0);
});
after(async () => {
  for (const c of [vit, swin, convnext]) await c.dispose();
});

test('module paths: torch.onnx scopes glue numeric names to the one before, and modulePath inverts that', () => {
  const cases: [string, string[]][] = [
    ['features.12', ['features', 'features.12']],
    ['features.7.0.block.4', ['features', 'features.7', 'features.7.0', 'block', 'block.4']],
    ['encoder.layers.encoder_layer_2.ln_1', ['encoder', 'layers', 'encoder_layer_2', 'ln_1']],
  ];
  for (const [path, scopes] of cases) {
    assert.deepEqual(moduleScopes(path), scopes);
    assert.equal(modulePath(`/${scopes.join('/')}/Conv`), path);
  }
});

/** Grad-CAM's map computed directly from a layer's activations and gradients, laid out as `at(a, token, channel)` reads them. */
async function camByHand(
  classifier: Classifier,
  layer: string,
  label: number,
  at: (t: Float32Array, position: number, channel: number) => number,
  channels: number,
  plane: number,
): Promise<Float64Array> {
  const r = await classifier.gradients(x, {
    seeds: { [classifier.outputName]: oneHot([label], 1000) },
    wrt: [layer],
    expose: [layer],
  });
  const a = r.outputs[layer].data;
  const g = r.grads[layer].data;
  const cam = new Float64Array(plane);
  for (let k = 0; k < channels; k++) {
    let w = 0;
    for (let p = 0; p < plane; p++) w += at(g, p, k) / plane;
    for (let p = 0; p < plane; p++) cam[p] += w * at(a, p, k);
  }
  return cam.map((v) => Math.max(0, v));
}

describe('CAMs on token layers', () => {
  test('findCamLayer: ViT → the last block’s ln_1 (only the class token reaches the head), Swin → norm, ConvNeXt → its last stage', async () => {
    assert.equal(await findCamLayer(vit, x.dims), 'encoder.layers.encoder_layer_2.ln_1');
    assert.equal(await findCamLayer(swin, x.dims), 'norm');
    assert.equal(await findCamLayer(convnext, x.dims), 'features.7.0');
  });

  test('Grad-CAM on ViT tokens (N×197×128, class token dropped) equals the map computed by hand', async () => {
    const layer = 'encoder.layers.encoder_layer_1';
    const r = await gradCam(vit, x, 3, { layer });
    assert.deepEqual(r.layerMaps.dims, [1, 14, 14]);
    // Token 0 is the class token; patch p is token 1 + p, row-major over the 14×14 grid.
    const want = await camByHand(vit, layer, 3, (t, p, k) => t[(1 + p) * 128 + k], 128, 196);
    assert.ok(want.some((v) => v > 0));
    assert.ok(
      relativeL2(r.layerMaps.data, want) < 1e-6,
      `relative error ${relativeL2(r.layerMaps.data, want)}`,
    );
  });

  test('Grad-CAM on Swin’s N×7×7×256 norm output equals the map computed by hand; the default layer on ViT is not blank', async () => {
    const r = await gradCam(swin, x, 500);
    assert.equal(r.layer, 'norm');
    const want = await camByHand(swin, 'norm', 500, (t, p, k) => t[p * 256 + k], 256, 49);
    assert.ok(want.some((v) => v > 0));
    assert.ok(
      relativeL2(r.layerMaps.data, want) < 1e-6,
      `relative error ${relativeL2(r.layerMaps.data, want)}`,
    );
    const onVit = await gradCam(vit, x, 3);
    assert.ok(onVit.layerMaps.data.filter((v) => v > 0).length > 20, 'most patches have some weight');
  });

  test('token and channels-last maps go back to the layer’s own layout (class token kept); Ablation-CAM runs from Swin’s norm on', async () => {
    const layer = 'encoder.layers.encoder_layer_2.ln_1';
    const r = await vit.gradients(x, {
      seeds: { [vit.outputName]: oneHot([3], 1000) },
      wrt: [layer],
      expose: [layer],
    });
    const native = r.outputs[layer].data;
    const layout = layerLayout(new GraphView(vit.model.graph), vit.tensorFor(layer), [197, 128], x.dims)!;
    const back = fromChannelPlanes(channelPlanes(native, layout), 1, layout, native.slice(0, 128));
    assert.deepEqual(back.dims, [1, 197, 128]);
    assert.deepEqual(back.data, native);
    const ablation = await ablationCam(swin, x, 500, { layer: 'norm' });
    assert.deepEqual(ablation.layerMaps.dims, [1, 7, 7]);
    assert.ok(ablation.layerMaps.data.some((v) => v > 0));
  });

  test("Ablation-CAM on a ViT block's ln_1 (inside a residual block): the partial run feeds the residual path from the image, as a masked full model does", async () => {
    const layer = 'encoder.layers.encoder_layer_2.ln_1';
    const tensor = vit.tensorFor(layer);
    const seeds = { [vit.outputName]: oneHot([3], 1000) };
    const a = (await vit.gradients(x, { seeds, expose: [tensor] })).outputs[tensor];
    assert.deepEqual(a.dims, [1, 197, 128]);
    // Channel k zeroed in the 196 patch tokens, the class token kept (Ablation-CAM's ablation, as asLayer lays it out).
    const ablated = (k: number) => Float32Array.from(a.data, (v, j) => (j >= 128 && j % 128 === k ? 0 : v));
    // The reference: the whole model with a Mul by a 0/1 mask right after the layer, run from the image.
    const masked = (k: number) => {
      const model = vitWithRandomHead();
      const node = model.graph.node.find((n) => n.output[0] === tensor)!;
      node.output[0] = `${tensor}_unmasked`;
      const mask = Float32Array.from({ length: 197 * 128 }, (_, j) => (j >= 128 && j % 128 === k ? 0 : 1));
      model.graph.initializer.push(encodeTensor('ablation_mask', 'float32', [1, 197, 128], mask));
      model.graph.node.splice(model.graph.node.indexOf(node) + 1, 0, {
        ...node,
        name: 'ablation',
        opType: 'Mul',
        domain: '',
        input: [`${tensor}_unmasked`, 'ablation_mask'],
        output: [tensor],
        attribute: [],
      } as onnx.NodeProto);
      return classifierOf(model, `vit masked ${k}`);
    };
    for (const k of [5, 77]) {
      const reference = masked(k);
      try {
        const want = (await reference.logits(x)).data;
        const got = (await vit.logitsFrom(layer, { data: ablated(k), dims: [1, 197, 128] }, x)).data;
        assert.ok(relativeL2(got, want) < 1e-5, `channel ${k}: ${relativeL2(got, want)}`);
        // Ablating the channel changes the scores (the residual path alone would not).
        assert.ok(relativeL2(got, (await vit.logits(x)).data) > 1e-6);
      } finally {
        await reference.dispose();
      }
    }
    // Without the images, the part after the layer cannot run, and says why.
    await assert.rejects(vit.logitsFrom(layer, a), /also reads the input 'input' directly/);
    const r = await ablationCam(vit, x, 3, { layer });
    assert.deepEqual(r.layerMaps.dims, [1, 14, 14]);
    assert.ok(r.layerMaps.data.every(Number.isFinite) && r.layerMaps.data.some((v) => v > 0));
    // The shared ViT's zero head scores every class 0: the relative drops are 0/0, and the map is zero, not NaN.
    const zeroHead = classifierOf(modernModel('vit_small_patch16'), 'vit_small_patch16');
    try {
      const z = await ablationCam(zeroHead, x, 3, { layer });
      assert.ok(z.layerMaps.data.every((v) => v === 0));
    } finally {
      await zeroHead.dispose();
    }
  });

  test('a layer that holds no map fails, naming the layouts expected', async () => {
    // The class token the head reads: N×128.
    const classToken = vit.model.graph.node.find((n) => n.name === '/heads/head/Gemm')!.input[0];
    await assert.rejects(
      gradCam(vit, x, 3, { layer: classToken }),
      /gives dims \[1,128\], expected N×C×h×w, N×h×w×C or N×T×C patch tokens/,
    );
  });
});

describe('attention layers', () => {
  test('findAttentionLayers: ViT 3 layers of 4 heads over 197 tokens; Swin 5 windowed layers; ConvNeXt none', async () => {
    assert.deepEqual(
      (await findAttentionLayers(vit)).map(({ layer, heads, windows, tokens }) => [
        layer,
        heads,
        windows,
        tokens,
      ]),
      [0, 1, 2].map((i) => [`encoder.layers.encoder_layer_${i}.self_attention`, 4, 1, 197]),
    );
    assert.deepEqual(
      (await findAttentionLayers(swin)).map(({ layer, heads, windows }) => [layer, heads, windows]),
      [
        ['features.1.0.attn', 1, 64],
        ['features.3.0.attn', 2, 16],
        ['features.5.0.attn', 4, 4],
        ['features.5.1.attn', 4, 4],
        ['features.7.0.attn', 8, 1],
      ],
    );
    assert.deepEqual(await findAttentionLayers(convnext), []);
  });

  test('rollout: a 2-layer, 2-head case computed by hand', () => {
    // Heads of layer 1 and layer 2, 2 tokens each (rows sum to 1).
    const l1 = [1, 0, 0.5, 0.5, 0.5, 0.5, 0, 1];
    const l2 = [0, 1, 1, 0, 0, 1, 0.5, 0.5];
    const close = (got: Float64Array, want: number[]) =>
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12, `[${[...got]}] vs [${want}]`));
    // mean: Â1 = ½[[.75,.25],[.25,.75]] + ½I = [[.875,.125],[.125,.875]]; Â2 = [[.5,.5],[.375,.625]]; R = Â2·Â1
    close(rollout([l1, l2], 2), [0.5, 0.5, 0.40625, 0.59375]);
    // max: ½max + ½I renormalised: Â1 = [[.8,.2],[.2,.8]], Â2 = [[.5,.5],[.4,.6]]
    close(rollout([l1, l2], 2, { headFusion: 'max' }), [0.5, 0.5, 0.44, 0.56]);
    // min: Â1 = ½[[.5,0],[0,.5]] + ½I renormalised = I; Â2 = ½[[0,1],[.5,0]] + ½I → [[.5,.5],[1/3,2/3]]
    close(rollout([l1, l2], 2, { headFusion: 'min' }), [0.5, 0.5, 1 / 3, 2 / 3]);
    // discard 0.25 drops the smallest fused weight of each layer: layer 1's .25 at [0,1] (the first of two),
    // layer 2's 0 at [0,0]: Â1 = [[1,0],[.125,.875]], Â2 = [[.5,.5],[.375,.625]] → R = Â2·Â1
    close(rollout([l1, l2], 2, { discardRatio: 0.25 }), [0.5625, 0.4375, 0.453125, 0.546875]);
  });

  test('rollout: rows sum to 1 after each layer of vit_small_patch16', async () => {
    const layers = await findAttentionLayers(vit);
    const tensors = layers.map((l) => l.tensor);
    const r = await vit.gradients(x, {
      seeds: { [vit.outputName]: oneHot([3], 1000) },
      wrt: tensors,
      expose: tensors,
    });
    const attention = tensors.map((t) => r.outputs[t].data);
    for (const headFusion of ['mean', 'max', 'min'] as const)
      for (let k = 1; k <= attention.length; k++) {
        const m = rollout(attention.slice(0, k), 197, { headFusion, discardRatio: 0.9 });
        for (let q = 0; q < 197; q++) {
          const sum = m.subarray(q * 197, (q + 1) * 197).reduce((s, v) => s + v, 0);
          assert.ok(Math.abs(sum - 1) < 1e-9, `${headFusion}, after layer ${k}: row ${q} sums to ${sum}`);
        }
      }
  });

  test('gradient-weighted relevance: one layer of 2 heads computed by hand', () => {
    // Ā = mean over heads of (∇A ⊙ A)⁺ = ½([[.5,0],[0,0]] + [[0,0],[.25,0]]); R = I + Ā
    const a = [0.5, 0.5, 0.5, 0.5, 1, 0, 0.5, 0.5];
    const g = [1, -2, 0, -1, 0, 3, 0.5, -4];
    assert.deepEqual([...gradientWeightedRelevance([a], [g], 2)], [1.25, 0, 0.125, 1]);
  });

  test('gradient-weighted attention on vit_small_patch16 differs between two classes; rollout does not depend on the class', async () => {
    const [a, b] = [await attentionGradient(vit, x, 3), await attentionGradient(vit, x, 500)];
    assert.deepEqual(a.layerMaps.dims, [1, 14, 14]);
    assert.deepEqual(a.maps.dims, [1, 224, 224]);
    assert.equal(a.layers.length, 3);
    const difference = relativeL2(a.layerMaps.data, b.layerMaps.data);
    assert.ok(difference > 0.1, `maps for classes 3 and 500 differ by only ${difference}`);
    const [r3, r500] = [await attentionRollout(vit, x, 3), await attentionRollout(vit, x, 500)];
    assert.deepEqual(r3.layerMaps.data, r500.layerMaps.data);
    assert.ok(r3.layerMaps.data.every((v) => v > 0));
  });

  test('attention rollout of windowed attention (Swin) fails, saying why', async () => {
    await assert.rejects(
      attentionRollout(swin, x),
      /features\.1\.0\.attn attends within 64 windows of 49 tokens/,
    );
    await assert.rejects(attentionGradient(convnext, x), /has no attention layers/);
  });
});
