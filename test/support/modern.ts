// The transformer-era fixtures (../shared/fixtures/modern) and the ViT with a random head
// (test/fixtures/vit-head, made by scripts/vit-head-fixture.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeModel, type onnx } from '../../src/onnx/proto.js';
import { encodeTensor } from '../../src/onnx/tensor-proto.js';
import { ROOT, SHARED } from './shared.js';
import { rng } from './tiny-graph.js';

export const MODERN = join(SHARED, 'fixtures', 'modern');
export const VIT_HEAD = join(ROOT, 'test', 'fixtures', 'vit-head');

/** The fixtures' names, targets and operator counts (`meta.json`). */
export const modernMeta = JSON.parse(readFileSync(join(MODERN, 'meta.json'), 'utf8')) as Record<
  string,
  { targets: number[]; ops: Record<string, number> }
>;

/** A fixture's ONNX model. */
export function modernModel(name: string): onnx.ModelProto {
  return decodeModel(readFileSync(join(MODERN, `${name}.onnx`)), name);
}

/**
 * vit_small_patch16 with the head of scripts/vit-head-fixture.py: torchvision zero-initialises the head, so
 * the shared model's logits and gradients are all zero. Weights uniform in ±1/√128 from mulberry32 seed 1.
 */
export function vitWithRandomHead(): onnx.ModelProto {
  const model = modernModel('vit_small_patch16');
  const k = model.graph.initializer.findIndex((t) => t.name === 'heads.head.weight');
  const next = rng(1);
  const bound = 1 / Math.sqrt(128);
  const weights = Float32Array.from({ length: 1000 * 128 }, () => (2 * next() - 1) * bound);
  model.graph.initializer[k] = encodeTensor('heads.head.weight', 'float32', [1000, 128], weights);
  return model;
}
