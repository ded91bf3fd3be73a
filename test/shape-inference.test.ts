// Static shape and value inference (src/onnx/shape-inference.ts) against ONNX Runtime: every tensor's type,
// dims and integer values as a forward run with every tensor as an output (probeTensorInfo) reports them,
// on every model in ../shared and on small graphs for the corner cases of each operator.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { foldConstants } from '../src/onnx/fold.js';
import { cloneModel, decodeModel, encodeModel, onnx } from '../src/onnx/proto.js';
import { inferTensorInfo } from '../src/onnx/shape-inference.js';
import { encodeTensor } from '../src/onnx/tensor-proto.js';
import type { Backend, RuntimeTensor } from '../src/runtime/backend.js';
import { nodeBackend } from '../src/runtime/node.js';
import { probeTensorInfo, tensorInfo } from '../src/runtime/probe.js';
import { buildModel, floatInit, type TinyNode } from './support/tiny-graph.js';
import { SHARED } from './support/shared.js';

const isFloat = (t: string) => t.startsWith('float');
const numbers = (v: ArrayLike<number | bigint>) => Array.from(v, (x) => String(x));

/** Asserts that inference agrees with a forward run on every tensor; returns how many integer values it compared. */
async function assertMatchesProbe(
  model: onnx.ModelProto,
  feeds: Record<string, RuntimeTensor>,
): Promise<number> {
  const inferred = inferTensorInfo(model, feeds);
  assert.deepEqual(inferred.unresolved, [], 'every tensor inferred');
  const probed = await probeTensorInfo(nodeBackend, model, feeds);
  let values = 0;
  for (const [name, p] of probed) {
    const i = inferred.info.get(name);
    assert.ok(i, `${name}: not inferred`);
    assert.equal(i.type, p.type, `${name}: type`);
    assert.deepEqual(i.dims, p.dims, `${name}: dims`);
    if (inferred.dataDependent.has(name)) {
      assert.equal(i.value, undefined, `${name}: depends on the input, yet has a value`);
      continue;
    }
    // Integer values always; float values where inference folds them (small constants, shape scales).
    if (!isFloat(p.type)) assert.equal(i.value === undefined, p.value === undefined, `${name}: value`);
    if (!i.value || !p.value) continue;
    if (isFloat(p.type)) {
      const a = Array.from(i.value as Float32Array);
      const b = Array.from(p.value as Float32Array);
      a.forEach((v, k) =>
        assert.ok(Math.abs(v - b[k]) <= 1e-6 * Math.max(1, Math.abs(b[k])), `${name}[${k}]`),
      );
    } else {
      assert.deepEqual(numbers(i.value), numbers(p.value), `${name}: values`);
      values++;
    }
  }
  return values;
}

/** The graph input's declared dims, with `batch` for a symbolic batch axis (and 224 for symbolic spatial ones). */
function inputFeeds(model: onnx.ModelProto, batch: number): Record<string, RuntimeTensor> {
  const inits = new Set(model.graph.initializer.map((t) => t.name));
  const input = model.graph.input.find((i) => !inits.has(i.name))!;
  const dims = input.type!.tensorType!.shape!.dim!.map(
    (d, k) => Number(d.dimValue ?? 0) || (k === 0 ? batch : 224),
  );
  return { [input.name]: { type: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) } };
}

describe('shape inference on the shared models', () => {
  const models = [
    join(SHARED, 'models', 'squeezenet1_1.onnx'),
    ...['gradcheck', 'import', 'modern'].flatMap((dir) =>
      readdirSync(join(SHARED, 'fixtures', dir))
        .filter((f) => f.endsWith('.onnx'))
        // The loader brings these in (external weights, float16 widened); as files they do not run as they are.
        .filter((f) => f !== 'external_data.onnx' && f !== 'float16_weights.onnx')
        .map((f) => join(SHARED, 'fixtures', dir, f)),
    ),
  ];
  for (const path of models) {
    const name = path.split('/').slice(-2).join('/');
    test(`${name}: types, dims and integer values as ONNX Runtime reports them`, async (t) => {
      const model = decodeModel(readFileSync(path), path);
      const values = await assertMatchesProbe(model, inputFeeds(model, 2));
      t.diagnostic(`${model.graph.node.length} nodes, ${values} integer values compared`);
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// Operators' corner cases, each checked against ONNX Runtime.

const INT64_MAX = 2n ** 63n - 1n;
const i64 = (name: string, values: (number | bigint)[], dims = [values.length]) =>
  encodeTensor(
    name,
    'int64',
    dims,
    BigInt64Array.from(values, (v) => BigInt(v)),
  );
const f32 = (name: string, values: number[], dims = [values.length]) =>
  floatInit(name, 'float32', dims, values);

interface Case {
  x: number[];
  nodes: TinyNode[];
  inits?: onnx.TensorProto[];
  opset?: number;
  /** Tensor attributes (which TinyNode cannot hold), by node output and attribute name. */
  tensorAttrs?: Record<string, Record<string, onnx.TensorProto>>;
}

const cases: Record<string, Case> = {
  'Slice: negative steps, ends past either end, axes from an input': {
    x: [4, 6, 5],
    nodes: [
      { op: 'Slice', inputs: ['x', 's', 'e', 'a', 'st'], outputs: ['y'] },
      { op: 'Slice', inputs: ['x', 's2', 'e2'], outputs: ['z'] },
      { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
      { op: 'Slice', inputs: ['shape', 's3', 'e3', 'a3', 'st3'], outputs: ['rev'] },
    ],
    inits: [
      i64('s', [-1, 5]),
      i64('e', [-INT64_MAX, 0]),
      i64('a', [0, -1]),
      i64('st', [-1, -2]),
      i64('s2', [1, -100]),
      i64('e2', [INT64_MAX, 3]),
      i64('s3', [-1]),
      i64('e3', [-INT64_MAX - 1n]),
      i64('a3', [0]),
      i64('st3', [-1]),
    ],
  },
  'pooling: ceil mode whose last window would start in the padding; SAME and VALID convolutions': {
    x: [1, 2, 7, 9],
    nodes: [
      {
        op: 'MaxPool',
        inputs: ['x'],
        outputs: ['p', 'pi'],
        attrs: {
          // Rows: ceil((7 + 1 - 2) / 4) + 1 = 3 windows, but the third would start at 8, past the input.
          kernel_shape: { ints: [2, 2] },
          strides: { ints: [4, 4] },
          pads: { ints: [0, 0, 1, 1] },
          ceil_mode: { i: 1 },
        },
      },
      {
        op: 'AveragePool',
        inputs: ['x'],
        outputs: ['q'],
        attrs: { kernel_shape: { ints: [3, 2] }, strides: { ints: [2, 2] }, ceil_mode: { i: 1 } },
      },
      {
        op: 'Conv',
        inputs: ['x', 'w'],
        outputs: ['c1'],
        attrs: { auto_pad: { s: 'SAME_UPPER' }, strides: { ints: [2, 3] } },
      },
      {
        op: 'Conv',
        inputs: ['x', 'w'],
        outputs: ['c2'],
        attrs: { auto_pad: { s: 'VALID' }, dilations: { ints: [2, 2] } },
      },
      {
        op: 'Conv',
        inputs: ['x', 'wg'],
        outputs: ['c3'],
        attrs: { group: { i: 2 }, pads: { ints: [1, 0, 2, 1] }, strides: { ints: [2, 2] } },
      },
      {
        op: 'ConvTranspose',
        inputs: ['x', 'wt'],
        outputs: ['t1'],
        attrs: { strides: { ints: [2, 3] }, output_padding: { ints: [1, 2] }, pads: { ints: [1, 0, 1, 1] } },
      },
      { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['g'] },
      { op: 'DepthToSpace', inputs: ['c2'], outputs: ['d2s'], attrs: { blocksize: { i: 2 } } },
      { op: 'SpaceToDepth', inputs: ['t1'], outputs: ['s2d'], attrs: { blocksize: { i: 2 } } },
    ],
    inits: [
      f32('w', new Array(4 * 2 * 3 * 3).fill(0.1), [4, 2, 3, 3]),
      f32('wt', new Array(2 * 3 * 3 * 3).fill(0.1), [2, 3, 3, 3]),
      f32('wg', new Array(4 * 1 * 2 * 2).fill(0.1), [4, 1, 2, 2]),
    ],
  },
  'integer arithmetic: Div truncates, Mod takes the divisor sign (fmod=0) or the dividend sign (fmod=1)': {
    x: [1],
    nodes: [
      { op: 'Div', inputs: ['a', 'b'], outputs: ['div'] },
      { op: 'Mod', inputs: ['a', 'b'], outputs: ['mod'] },
      { op: 'Mod', inputs: ['a', 'b'], outputs: ['fmod'], attrs: { fmod: { i: 1 } } },
      { op: 'Mul', inputs: ['a', 'b'], outputs: ['mul'] },
      { op: 'Sub', inputs: ['a', 'b'], outputs: ['sub'] },
      { op: 'Pow', inputs: ['pa', 'pb'], outputs: ['pow'] },
      { op: 'Max', inputs: ['a', 'b', 'mul'], outputs: ['max'] },
      { op: 'Equal', inputs: ['a', 'b'], outputs: ['eq'] },
      { op: 'Less', inputs: ['a', 'b'], outputs: ['lt'] },
      { op: 'Not', inputs: ['eq'], outputs: ['ne'] },
      { op: 'Where', inputs: ['ne', 'a', 'b'], outputs: ['w'] },
      { op: 'Cast', inputs: ['w'], outputs: ['wb'], attrs: { to: { i: 9 } } },
      { op: 'Cast', inputs: ['half'], outputs: ['trunc'], attrs: { to: { i: 7 } } },
      { op: 'CastLike', inputs: ['half', 'a'], outputs: ['trunc2'] },
      { op: 'Sqrt', inputs: ['four'], outputs: ['two'] },
      { op: 'Floor', inputs: ['half'], outputs: ['fl'] },
      { op: 'Round', inputs: ['half'], outputs: ['rnd'] },
      { op: 'Clip', inputs: ['a', 'lo', 'hi'], outputs: ['clip'] },
    ],
    inits: [
      i64('a', [-7, 7, -7, 7, 0, 5]),
      i64('b', [3, -3, -3, 3, 2, 5]),
      i64('pa', [2, 3]),
      i64('pb', [10, 2]),
      f32('half', [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]),
      f32('four', [4]),
      i64('lo', [-3], []),
      i64('hi', [4], []),
    ],
  },
  'Einsum: explicit, implicit and with an ellipsis; MatMul with 1-D and broadcast batch operands; Gemm transposed':
    {
      x: [2, 3, 4],
      nodes: [
        { op: 'Einsum', inputs: ['x', 'm'], outputs: ['e1'], attrs: { equation: { s: 'bij,jk->bik' } } },
        { op: 'Einsum', inputs: ['x', 'm'], outputs: ['e2'], attrs: { equation: { s: 'bij,jk' } } },
        {
          op: 'Einsum',
          inputs: ['x', 'x'],
          outputs: ['e3'],
          attrs: { equation: { s: '...ij,...kj->...ik' } },
        },
        { op: 'MatMul', inputs: ['x', 'v'], outputs: ['mv'] },
        { op: 'MatMul', inputs: ['u', 'x'], outputs: ['um'] },
        { op: 'MatMul', inputs: ['b1', 'x'], outputs: ['bm'] },
        { op: 'Gemm', inputs: ['m', 'g'], outputs: ['gemm'], attrs: { transA: { i: 1 }, transB: { i: 1 } } },
      ],
      inits: [
        f32('m', new Array(20).fill(1), [4, 5]),
        f32('v', [1, 2, 3, 4]),
        f32('u', [1, 2, 3]),
        f32('b1', new Array(5 * 1 * 2 * 3).fill(1), [5, 1, 2, 3]),
        f32('g', new Array(12).fill(1), [3, 4]),
      ],
    },
  'Resize by scales and by sizes (axes, keep_aspect_ratio_policy), Pad with axes, Split by num_outputs (opset 18)':
    {
      x: [1, 2, 5, 7],
      opset: 18,
      nodes: [
        { op: 'Resize', inputs: ['x', '', 'scales'], outputs: ['r1'], attrs: { mode: { s: 'nearest' } } },
        {
          op: 'Resize',
          inputs: ['x', '', '', 'sizes'],
          outputs: ['r2'],
          attrs: { axes: { ints: [2, 3] }, keep_aspect_ratio_policy: { s: 'not_larger' } },
        },
        { op: 'Resize', inputs: ['x', '', '', 'sizes4'], outputs: ['r3'], attrs: { mode: { s: 'linear' } } },
        { op: 'Pad', inputs: ['x', 'pads', '', 'padAxes'], outputs: ['pad'] },
        {
          op: 'Split',
          inputs: ['x'],
          outputs: ['s0', 's1', 's2'],
          attrs: { axis: { i: 3 }, num_outputs: { i: 3 } },
        },
        { op: 'Split', inputs: ['x', 'parts'], outputs: ['t0', 't1'], attrs: { axis: { i: -2 } } },
        { op: 'ReduceMean', inputs: ['x', 'axes'], outputs: ['mean'], attrs: { keepdims: { i: 0 } } },
        { op: 'ReduceMax', inputs: ['x'], outputs: ['all'] },
        {
          op: 'ReduceSum',
          inputs: ['x', 'none'],
          outputs: ['noop'],
          attrs: { noop_with_empty_axes: { i: 1 } },
        },
      ],
      inits: [
        f32('scales', [1, 1, 1.7, 0.5]),
        i64('sizes', [9, 9]),
        i64('sizes4', [1, 2, 4, 11]),
        i64('pads', [1, 2, 3, 0]),
        i64('padAxes', [-1, 1]),
        i64('parts', [2, 3]),
        i64('axes', [1, -1]),
        i64('none', []),
      ],
    },
  'Range, ConstantOfShape, Expand, Tile, ScatterND (with add), Gather* and reductions on shape values': {
    x: [3, 4, 1],
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
      { op: 'Shape', inputs: ['x'], outputs: ['tail'], attrs: { start: { i: -2 } } },
      { op: 'Size', inputs: ['x'], outputs: ['size'] },
      { op: 'ReduceProd', inputs: ['shape'], outputs: ['prod'], attrs: { keepdims: { i: 0 } } },
      { op: 'Gather', inputs: ['shape', 'last'], outputs: ['n'] },
      { op: 'Range', inputs: ['zero', 'n', 'one'], outputs: ['r'] },
      { op: 'Range', inputs: ['fstart', 'flimit', 'fdelta'], outputs: ['fr'] },
      { op: 'ConstantOfShape', inputs: ['shape'], outputs: ['c'] },
      { op: 'Expand', inputs: ['r', 'eshape'], outputs: ['ex'] },
      { op: 'Tile', inputs: ['ex', 'reps'], outputs: ['tile'] },
      { op: 'ScatterND', inputs: ['c', 'idx', 'upd'], outputs: ['sc'], attrs: { reduction: { s: 'add' } } },
      { op: 'ScatterND', inputs: ['c', 'idx1', 'upd1'], outputs: ['sc1'] },
      { op: 'GatherElements', inputs: ['x', 'ge'], outputs: ['gel'], attrs: { axis: { i: 1 } } },
      { op: 'GatherND', inputs: ['x', 'gnd'], outputs: ['gnd_out'], attrs: { batch_dims: { i: 1 } } },
      { op: 'Gather', inputs: ['tile', 'gi'], outputs: ['g2'], attrs: { axis: { i: 1 } } },
      { op: 'Transpose', inputs: ['tile'], outputs: ['tt'], attrs: { perm: { ints: [1, 0] } } },
      { op: 'Unsqueeze', inputs: ['n', 'uaxes'], outputs: ['nu'] },
      { op: 'Concat', inputs: ['nu', 'tail', 'nu'], outputs: ['cat'], attrs: { axis: { i: 0 } } },
      { op: 'Squeeze', inputs: ['x'], outputs: ['sq'] },
      { op: 'Flatten', inputs: ['x'], outputs: ['flat'], attrs: { axis: { i: -1 } } },
      { op: 'Reshape', inputs: ['x', 'rshape'], outputs: ['rs'] },
      { op: 'TopK', inputs: ['x', 'k'], outputs: ['topv', 'topi'], attrs: { axis: { i: 1 } } },
      { op: 'ArgMax', inputs: ['x'], outputs: ['am'], attrs: { axis: { i: 1 }, keepdims: { i: 0 } } },
      { op: 'ReduceSum', inputs: ['tile', 'raxes'], outputs: ['rsum'] },
      { op: 'ReduceMin', inputs: ['tile'], outputs: ['rmin'], attrs: { axes: { ints: [1] } } },
    ],
    inits: [
      i64('last', [-1], []),
      i64('zero', [0], []),
      i64('one', [1], []),
      f32('fstart', [0.5], []),
      f32('flimit', [2.1], []),
      f32('fdelta', [0.25], []),
      i64('eshape', [2, 1]),
      i64('reps', [2, 3]),
      i64('idx', [0, -1, 0, 0, 2, 1], [3, 2]),
      i64('upd', [1, 2, 3], [3, 1]),
      i64('idx1', [1, 2], [1, 2]),
      i64('upd1', [5], [1, 1]),
      i64('ge', [0, 3, 1, 2, 2, 1], [3, 2, 1]),
      i64('gnd', [1, 0, 3], [3, 1]),
      i64('gi', [-1, 0]),
      i64('uaxes', [0]),
      i64('rshape', [0, -1]),
      i64('k', [2]),
      i64('raxes', [0]),
    ],
    tensorAttrs: { c: { value: i64('seven', [7]) } },
  },
  'Constant forms, Dropout and LayerNormalization outputs, Identity of constants': {
    x: [2, 3, 4],
    nodes: [
      { op: 'Constant', inputs: [], outputs: ['cf'], attrs: { value_float: { f: 0.25 } } },
      { op: 'Constant', inputs: [], outputs: ['cfs'], attrs: { value_floats: { floats: [1, 2.5] } } },
      { op: 'Constant', inputs: [], outputs: ['ci'], attrs: { value_int: { i: -3 } } },
      { op: 'Constant', inputs: [], outputs: ['cis'], attrs: { value_ints: { ints: [4, 5, 6] } } },
      { op: 'Identity', inputs: ['cis'], outputs: ['cid'] },
      { op: 'Dropout', inputs: ['x'], outputs: ['dr', 'mask'] },
      {
        op: 'LayerNormalization',
        inputs: ['x', 'scale'],
        outputs: ['ln', 'lnMean', 'lnInv'],
        attrs: { axis: { i: 1 } },
      },
      { op: 'Softmax', inputs: ['x'], outputs: ['sm'], attrs: { axis: { i: 1 } } },
      { op: 'Mul', inputs: ['x', 'cf'], outputs: ['scaled'] },
    ],
    inits: [f32('scale', new Array(12).fill(1), [3, 4])],
  },
};

describe('shape inference of operators against ONNX Runtime', () => {
  for (const [name, c] of Object.entries(cases)) {
    test(name, async () => {
      const outputs = c.nodes.flatMap((n) => n.outputs);
      const model = buildModel({
        inputs: [{ name: 'x', dims: c.x, dtype: 'float32' }],
        outputs,
        nodes: c.nodes,
        initializers: c.inits,
        opset: c.opset,
      });
      for (const [output, attrs] of Object.entries(c.tensorAttrs ?? {})) {
        const node = model.graph.node.find((n) => n.output[0] === output)!;
        for (const [attr, t] of Object.entries(attrs)) {
          node.attribute.push(
            onnx.AttributeProto.create({
              name: attr,
              type: onnx.AttributeProto.AttributeType.TENSOR,
              t,
            }) as onnx.AttributeProto,
          );
        }
      }
      await assertMatchesProbe(model, {
        x: {
          type: 'float32',
          dims: c.x,
          data: new Float32Array(c.x.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i)),
        },
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// What inference cannot know, and what it does with the values it knows.

/** The node backend, recording the graph outputs of every session it creates. */
function recordingBackend(): { backend: Backend; outputs: string[][] } {
  const outputs: string[][] = [];
  const backend: Backend = {
    name: nodeBackend.name,
    createSession(model, options) {
      outputs.push(onnx.ModelProto.decode(model).graph!.output!.map((o) => o.name!));
      return nodeBackend.createSession(model, options);
    },
  };
  return { backend, outputs };
}

describe('tensorInfo', () => {
  // LpNormalization has no shape rule: its outputs are learnt from a run that outputs only them.
  const model = buildModel({
    inputs: [{ name: 'x', dims: [1, 4], dtype: 'float32' }],
    outputs: ['y', 'z'],
    nodes: [
      { op: 'LpNormalization', inputs: ['x'], outputs: ['lx'] },
      { op: 'Relu', inputs: ['lx'], outputs: ['y'] },
      { op: 'LpNormalization', inputs: ['c'], outputs: ['lc'] },
      { op: 'Shape', inputs: ['lx'], outputs: ['s'] },
      { op: 'Reshape', inputs: ['lc', 's'], outputs: ['lcr'] },
      { op: 'Add', inputs: ['lcr', 'y'], outputs: ['z'] },
    ],
    initializers: [f32('c', [3, 0, 4, 0], [1, 4])],
  });

  test('runs the graph only for the outputs of operators it has no rule for, and keeps no value computed from the input', async () => {
    const { backend, outputs } = recordingBackend();
    const info = await tensorInfo(backend, model, { x: { type: 'float32', dims: [1, 4] } });
    assert.deepEqual(outputs, [['lx', 'lc']]);
    assert.deepEqual(info.get('lx'), { type: 'float32', dims: [1, 4], value: undefined });
    assert.deepEqual(info.get('y'), { type: 'float32', dims: [1, 4], value: undefined });
    // A constant branch keeps its values: ‖(3, 0, 4, 0)‖₂ = 5.
    assert.deepEqual(Array.from(info.get('lc')!.value as Float32Array), [0.6, 0, 0.8, 0].map(Math.fround));
    assert.deepEqual(info.get('s')!.value, BigInt64Array.from([1n, 4n]));
  });

  test('a graph it fully infers never runs', async () => {
    const { backend, outputs } = recordingBackend();
    const path = join(SHARED, 'fixtures', 'modern', 'swin_mini.onnx');
    const swin = decodeModel(readFileSync(path), path);
    const info = await tensorInfo(backend, swin, { input: { type: 'float32', dims: [1, 3, 224, 224] } });
    assert.deepEqual(outputs, []);
    assert.deepEqual(info.get(swin.graph.output[0].name)!.dims, [1, 1000]);
  });
});

describe('foldConstants', () => {
  test('swin_mini compiled for fixed dims: the shape arithmetic becomes constants, the logits stay the same', async (t) => {
    const path = join(SHARED, 'fixtures', 'modern', 'swin_mini.onnx');
    const swin = decodeModel(readFileSync(path), path);
    const feeds = inputFeeds(swin, 2);
    (feeds.input.data as Float32Array).forEach((_, i, a) => (a[i] = Math.sin(i * 0.37)));
    const info = inferTensorInfo(swin, { input: feeds.input }).info;
    const folded = cloneModel(swin);
    foldConstants(folded.graph, info);
    t.diagnostic(`${swin.graph.node.length} nodes → ${folded.graph.node.length}`);
    assert.ok(folded.graph.node.length < swin.graph.node.length / 2);
    assert.ok(!folded.graph.node.some((n) => n.opType === 'Shape' || n.opType === 'Range'));
    const run = async (m: onnx.ModelProto) => {
      const s = await nodeBackend.createSession(encodeModel(m), { threads: 1 });
      try {
        return (await s.run(feeds)).logits.data as Float32Array;
      } finally {
        await s.release();
      }
    };
    const [a, b] = [await run(swin), await run(folded)];
    const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    assert.ok(maxDiff <= 1e-5, `logits differ by ${maxDiff}`);
  });
});
