// Finite-difference checks of compiled gradients, shared by the gradient-rule tests.
//
// A check builds a tiny ONNX model, compiles its gradient, runs it with a random seed for every (float)
// output, and compares the result with central differences of the objective Σ y ⊙ seed computed by the
// forward model. float64 where ONNX Runtime's CPU provider runs the op in double (eps 1e-6, tolerance
// 1e-6), float32 otherwise (eps 1e-2, tolerance 1e-3).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileGradient, type CompiledGradient } from '../../src/autodiff/compile.js';
import type { Composite, TensorInfo } from '../../src/autodiff/types.js';
import { encodeModel, type onnx } from '../../src/onnx/proto.js';
import type { RuntimeTensor } from '../../src/runtime/backend.js';
import { nodeBackend } from '../../src/runtime/node.js';
import { probeTensorInfo } from '../../src/runtime/probe.js';
import { buildModel, floatArray, floatInit, rng, size, type FloatType } from './tiny-graph.js';

export const f64 = 'float64' as const;
export const f32 = 'float32' as const;

// ---------------------------------------------------------------------------------------------------
// Random values

/** Seeded random values for one test. */
export class Random {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  uniform(n: number, lo = -1, hi = 1): number[] {
    return Array.from({ length: n }, () => lo + (hi - lo) * this.next());
  }
  /** A float initializer of uniform values in [lo, hi). */
  init(name: string, dtype: FloatType, dims: number[], lo = -1, hi = 1): onnx.TensorProto {
    return floatInit(name, dtype, dims, this.uniform(size(dims), lo, hi));
  }
  /** A float initializer of values with magnitude in [0.5, 1.5) and random sign (safe divisors). */
  nonzeroInit(name: string, dtype: FloatType, dims: number[]): onnx.TensorProto {
    return floatInit(name, dtype, dims, nonzero()(this, size(dims)));
  }
}

export function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Generates n input values. */
export type Gen = (r: Random, n: number) => number[];

export const uniform =
  (lo = -1, hi = 1): Gen =>
  (r, n) =>
    r.uniform(n, lo, hi);

/** Uniform in [lo, hi) but at least `margin` from every kink. */
export const awayFrom =
  (kinks: number[], lo = -1, hi = 1, margin = 0.05): Gen =>
  (r, n) =>
    Array.from({ length: n }, () => {
      for (;;) {
        const v = lo + (hi - lo) * r.next();
        if (kinks.every((k) => Math.abs(v - k) >= margin)) return v;
      }
    });

/** A shuffled ramp of distinct values `spacing` apart: no ties, even after a ±eps perturbation. */
export const distinct =
  (spacing = 0.05): Gen =>
  (r, n) => {
    const v = Array.from({ length: n }, (_, i) => (i - n / 2) * spacing);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(r.next() * (i + 1));
      [v[i], v[j]] = [v[j], v[i]];
    }
    return v;
  };

/** Magnitudes in [lo, hi) with random signs. */
export const nonzero =
  (lo = 0.5, hi = 1.5): Gen =>
  (r, n) =>
    Array.from({ length: n }, () => (r.next() < 0.5 ? -1 : 1) * (lo + (hi - lo) * r.next()));

// ---------------------------------------------------------------------------------------------------
// Running compiled gradients

export const asNumbers = (t: RuntimeTensor): number[] => Array.from(t.data as ArrayLike<number>, Number);

export function tensor(type: FloatType, dims: number[], values: ArrayLike<number>): RuntimeTensor {
  return { type, dims, data: floatArray(type, values) };
}

/** Probes, compiles and runs the gradient of Σ seed ⊙ output for the given seeds; returns every output. */
export async function runGradient(
  model: onnx.ModelProto,
  feeds: Record<string, RuntimeTensor>,
  seeds: Record<string, ArrayLike<number>>,
  composite?: Composite,
): Promise<{
  out: Record<string, RuntimeTensor>;
  compiled: CompiledGradient;
  info: Map<string, TensorInfo>;
}> {
  const info = await probeTensorInfo(nodeBackend, model, feeds);
  const compiled = compileGradient(model, { seeds: Object.keys(seeds), composite }, info);
  const all: Record<string, RuntimeTensor> = { ...feeds };
  for (const [name, values] of Object.entries(seeds)) {
    const i = info.get(name)!;
    all[compiled.seedInputs[name]] = tensor(i.type as FloatType, i.dims, values);
  }
  const session = await nodeBackend.createSession(encodeModel(compiled.model), { threads: 1 });
  try {
    return { out: await session.run(all), compiled, info };
  } finally {
    await session.release();
  }
}

export interface CheckOptions {
  dtype: FloatType;
  /** Central-difference step; default 1e-6 (float64) or 1e-2 (float32). */
  eps?: number;
  /** Largest accepted relative error; default 1e-6 (float64) or 1e-3 (float32). */
  tol?: number;
  /** Input values; default uniform in [-1, 1). */
  input?: Gen;
  /** Seeded outputs; default every float graph output. */
  seeds?: string[];
  random?: Random;
}

export interface CheckResult {
  /** max(relative L2 error, max abs error / max |fd|). */
  err: number;
  grad: number[];
  fd: number[];
  compiled: CompiledGradient;
}

/**
 * Compares the compiled gradient (w.r.t. the model's first input, of dims `inputDims`) of a random linear
 * objective Σ y ⊙ seed with central differences of the forward model, and asserts they agree.
 */
export async function checkGradient(
  model: onnx.ModelProto,
  inputDims: number[],
  opts: CheckOptions,
): Promise<CheckResult> {
  const { dtype } = opts;
  const eps = opts.eps ?? (dtype === f64 ? 1e-6 : 1e-2);
  const tol = opts.tol ?? (dtype === f64 ? 1e-6 : 1e-3);
  const r = opts.random ?? new Random(1);
  const inputName = model.graph.input[0].name;
  const x = floatArray(dtype, (opts.input ?? uniform())(r, size(inputDims)));
  const feedsOf = (data: Float32Array | Float64Array) => ({
    [inputName]: { type: dtype, dims: inputDims, data },
  });

  const info = await probeTensorInfo(nodeBackend, model, feedsOf(x));
  const seedNames =
    opts.seeds ?? model.graph.output.map((o) => o.name).filter((n) => info.get(n)!.type.startsWith('float'));
  const seeds: Record<string, number[]> = {};
  for (const s of seedNames) seeds[s] = r.uniform(size(info.get(s)!.dims));
  const { out, compiled } = await runGradient(model, feedsOf(x), seeds);
  const gradT = out[compiled.gradOutputs[inputName]];
  assert.deepEqual(gradT.dims, inputDims, 'gradient dims');
  assert.equal(gradT.type, dtype, 'gradient type');
  const grad = asNumbers(gradT);

  const forward = await nodeBackend.createSession(encodeModel(model), { threads: 1 });
  try {
    const objective = async (data: Float32Array | Float64Array) => {
      const y = await forward.run(feedsOf(data), seedNames);
      let f = 0;
      for (const s of seedNames) {
        const v = y[s].data as ArrayLike<number>;
        for (let i = 0; i < v.length; i++) f += v[i] * seeds[s][i];
      }
      return f;
    };
    // The compiled model still computes the forward outputs (MaxPool gains an output, opsets change...).
    const y0 = await forward.run(feedsOf(x), seedNames);
    for (const s of seedNames) {
      const want = asNumbers(y0[s]);
      const got = asNumbers(out[s]);
      const scale = Math.max(1, ...want.map(Math.abs));
      const diff = Math.max(0, ...want.map((w, i) => Math.abs(w - got[i])));
      assert.ok(diff <= (dtype === f64 ? 1e-12 : 1e-5) * scale, `forward output '${s}' changed by ${diff}`);
    }
    const fd: number[] = [];
    for (let i = 0; i < x.length; i++) {
      const plus = x.slice();
      const minus = x.slice();
      plus[i] += eps;
      minus[i] -= eps;
      fd.push(((await objective(plus)) - (await objective(minus))) / (plus[i] - minus[i]));
    }
    let num = 0;
    let den = 0;
    let maxDiff = 0;
    let maxRef = 0;
    fd.forEach((want, i) => {
      num += (grad[i] - want) ** 2;
      den += want ** 2;
      maxDiff = Math.max(maxDiff, Math.abs(grad[i] - want));
      maxRef = Math.max(maxRef, Math.abs(want));
    });
    assert.ok(maxRef > 1e-3, 'the finite-difference gradient is ~0: this check would prove nothing');
    const err = Math.max(Math.sqrt(num / den), maxDiff / maxRef);
    if (!(err <= tol)) {
      const show = (v: number[]) => v.slice(0, 8).map((n) => n.toPrecision(4));
      assert.fail(
        `gradient mismatch: relative error ${err.toExponential(2)} > ${tol}\n` +
          `  compiled: ${show(grad)}…\n  finite differences: ${show(fd)}…`,
      );
    }
    return { err, grad, fd, compiled };
  } finally {
    await forward.release();
  }
}

export interface GradCase extends Omit<CheckOptions, 'random'> {
  model: onnx.ModelProto;
  /** Dims of the model's first input. */
  x: number[];
}

/** A test that builds a case from seeded random values and checks its gradient. */
export function gradTest(name: string, make: (r: Random) => GradCase): void {
  test(name, async (t) => {
    const r = new Random(hash(name));
    const { model, x, ...opts } = make(r);
    const { err } = await checkGradient(model, x, { ...opts, random: r });
    t.diagnostic(`${opts.dtype} relErr=${err.toExponential(2)}`);
  });
}

/** The nodes the compiler appended to the forward graph. */
export function backwardNodes(model: onnx.ModelProto, compiled: CompiledGradient): onnx.NodeProto[] {
  return compiled.model.graph.node.slice(model.graph.node.length);
}

/** `y = op(x, c, ReduceMean(x over axis 1))` for x [2,3,4]: a variadic broadcasting op (Sum, Max, …) with two inputs from x. */
export function variadicModel(op: string, dtype: FloatType, c: onnx.TensorProto): onnx.ModelProto {
  return buildModel({
    inputs: [{ name: 'x', dims: [2, 3, 4], dtype }],
    outputs: ['y'],
    nodes: [
      { op: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: { ints: [1] }, keepdims: { i: 1 } } },
      { op, inputs: ['x', c.name, 'm'], outputs: ['y'] },
    ],
    initializers: [c],
  });
}
