// The CAM family against pytorch-grad-cam (../shared/reference/peers/ and test/fixtures/ from scripts/pgc-fixtures.py).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ablationCam } from '../src/methods/attribution/ablationcam.js';
import type { CamResult } from '../src/methods/attribution/cam.js';
import { eigenCam } from '../src/methods/attribution/eigencam.js';
import { eigenGradCam } from '../src/methods/attribution/eigengradcam.js';
import { fullGrad } from '../src/methods/attribution/fullgrad.js';
import { hiResCam } from '../src/methods/attribution/hirescam.js';
import { layerCam } from '../src/methods/attribution/layercam.js';
import { scoreCam } from '../src/methods/attribution/scorecam.js';
import { upsampleBilinear } from '../src/methods/attribution/upsample.js';
import { xGradCam } from '../src/methods/attribution/xgradcam.js';
import type { Classifier } from '../src/model/classifier.js';
import { loadClassifier } from '../src/model/load.js';
import { ModelError } from '../src/onnx/proto.js';
import { modelDownstreamOf } from '../src/onnx/downstream.js';
import { sliceBatch, type Tensor } from '../src/tensor.js';
import { readNpy } from './support/npy.js';
import { REFERENCE, ROOT, relativeL2 } from './support/shared.js';

const PEERS = join(REFERENCE, 'peers');
const LABELS = [36, 76, 116, 156, 196, 236, 276, 316]; // peers/README.md: the first 8 inputs' true labels
const LAYER = 13 * 13;
const inputs = readNpy(join(REFERENCE, 'inputs.npy'));
const x8: Tensor = sliceBatch(inputs, 0, 8);
let squeezenet: Classifier;

before(async () => {
  squeezenet = await loadClassifier();
});
after(() => squeezenet.dispose());

const layerMap = (t: { data: Float32Array }, i: number) => t.data.subarray(i * LAYER, (i + 1) * LAYER);

/** Rel. L2 of each image's layer map against a pytorch-grad-cam `_layer` file (np.maximum(get_cam_image, 0)). */
function layerErrors(r: CamResult, file: string): number[] {
  const ref = readNpy(join(PEERS, file));
  return LABELS.map((_, i) => relativeL2(layerMap(r.layerMaps, i), layerMap(ref, i)));
}

/** Per image, the smaller rel. L2 against ReLU(±projection): the SVD's sign is arbitrary. */
function errorsUpToSign(r: CamResult, projection: { data: Float32Array }): number[] {
  return LABELS.map((_, i) => {
    const p = layerMap(projection, i);
    return Math.min(
      ...[1, -1].map((s) =>
        relativeL2(
          layerMap(r.layerMaps, i),
          Array.from(p, (v) => Math.max(0, s * v)),
        ),
      ),
    );
  });
}

const worst = (errs: number[]) => `worst ${Math.max(...errs).toExponential(2)}`;

test('LayerCAM, XGrad-CAM and HiResCAM: layer maps within rel. L2 1e-3 of pytorch-grad-cam on the 8 shared inputs', async () => {
  for (const [fn, file] of [
    [layerCam, 'pgc_layercam_layer.npy'],
    [xGradCam, 'pgc_xgradcam_layer.npy'],
    [hiResCam, 'pgc_hirescam_layer.npy'],
  ] as const) {
    const r = await fn(squeezenet, x8, LABELS);
    assert.equal(r.layer, 'features.12');
    assert.deepEqual(r.maps.dims, [8, 224, 224]);
    const errs = layerErrors(r, file);
    assert.ok(Math.max(...errs) < 1e-3, `${file}: ${worst(errs)}`);
    // The full-size map is the layer map upsampled as Grad-CAM's is.
    assert.deepEqual(r.maps.data, upsampleBilinear(r.layerMaps, 224, 224).data);
  }
});

test('Eigen-CAM and Eigen-Grad-CAM: within 1e-3 of pytorch-grad-cam’s projection up to the SVD’s sign, largest magnitude kept positive', async () => {
  const eigen = await eigenCam(squeezenet, x8, LABELS);
  const errs = errorsUpToSign(eigen, readNpy(join(PEERS, 'pgc_eigencam_projection.npy')));
  assert.ok(Math.max(...errs) < 1e-3, `eigencam: ${worst(errs)}`);
  // Class-independent: another class gives the same map.
  const other = await eigenCam(squeezenet, sliceBatch(x8, 0, 2), [1, 2]);
  assert.deepEqual(other.layerMaps.data, eigen.layerMaps.data.slice(0, 2 * LAYER));
  const grad = await eigenGradCam(squeezenet, x8, LABELS);
  const gradErrs = errorsUpToSign(
    grad,
    readNpy(join(ROOT, 'test', 'fixtures', 'pgc_eigengradcam_projection.npy')),
  );
  assert.ok(Math.max(...gradErrs) < 1e-3, `eigengradcam: ${worst(gradErrs)}`);
});

test('Ablation-CAM: within 1e-3 of pytorch-grad-cam, running only the graph after the layer; a layer the rest bypasses is refused', async () => {
  let steps = 0;
  const r = await ablationCam(squeezenet, x8, LABELS, { batchSize: 32, onStep: () => steps++ });
  const errs = layerErrors(r, 'pgc_ablationcam_layer.npy');
  assert.ok(Math.max(...errs) < 1e-3, `ablationcam: ${worst(errs)}`);
  assert.ok(steps >= 8, 'progress per batch of channels');
  // The downstream part of SqueezeNet from features.12 is the classifier head alone: Dropout, Conv, ReLU, pool, flatten.
  const head = modelDownstreamOf(squeezenet.model, squeezenet.tensorFor('features.12'));
  assert.deepEqual(
    head.graph.input.map((i) => i.name),
    [squeezenet.tensorFor('features.12')],
  );
  assert.ok(head.graph.node.length < 10, `${head.graph.node.length} nodes`);
  // Inside a Fire module, the expand branches' Concat also reads the squeeze output by the other branch.
  await assert.rejects(
    squeezenet.logitsFrom('/features/features.12/expand1x1_activation/Relu_output_0', {
      data: new Float32Array(0),
      dims: [0],
    }),
    (err: Error) => err instanceof ModelError && /also reads the input/.test(err.message),
  );
});

test('Score-CAM: within 1e-3 of pytorch-grad-cam (one forward pass per live channel; 2 of the 8 shared inputs, for time)', async () => {
  let last = [0, 0];
  const r = await scoreCam(squeezenet, sliceBatch(x8, 0, 2), LABELS.slice(0, 2), {
    batchSize: 32,
    onStep: (d, t) => (last = [d, t]),
  });
  const ref = readNpy(join(PEERS, 'pgc_scorecam_layer.npy'));
  const errs = [0, 1].map((i) => relativeL2(layerMap(r.layerMaps, i), layerMap(ref, i)));
  assert.ok(Math.max(...errs) < 1e-3, `scorecam: ${worst(errs)}`);
  assert.deepEqual(last, [2 * 512, 2 * 512], 'progress counts every channel once');
});

test('FullGrad: equals pytorch-grad-cam’s FullGrad (after its min-max scaling) on two 64×64 crops', async () => {
  const crop = new Float32Array(2 * 3 * 64 * 64);
  for (let i = 0; i < 2 * 3; i++)
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++)
        crop[(i * 64 + y) * 64 + x] = inputs.data[(i * 224 + y + 80) * 224 + x + 80];
  const r = await fullGrad(squeezenet, { data: crop, dims: [2, 3, 64, 64] }, LABELS.slice(0, 2));
  assert.equal(r.biasLayers.length, 26, 'every Conv of SqueezeNet has a bias');
  const ref = readNpy(join(ROOT, 'test', 'fixtures', 'pgc_fullgrad_64.npy'));
  for (let i = 0; i < 2; i++) {
    const m = r.maps.data.subarray(i * 4096, (i + 1) * 4096);
    const lo = Math.min(...m);
    const hi = Math.max(...m);
    const scaled = Array.from(m, (v) => (v - lo) / (1e-7 + hi - lo));
    const err = relativeL2(scaled, ref.data.subarray(i * 4096, (i + 1) * 4096));
    assert.ok(err < 1e-4, `image ${i}: ${err}`);
  }
});
