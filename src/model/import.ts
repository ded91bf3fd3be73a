// Turning what a model file declares into what netvis needs, once, at load: the rewritten graph and what was decided.
import { GRADIENT_OPSET } from '../autodiff/opset.js';
import { IMAGENET_PREPROCESSING, type Preprocessing } from '../image/types.js';
import { makeNode as node } from '../onnx/attributes.js';
import { widenFloat16, type Float16Widening } from '../onnx/float16.js';
import { GraphView } from '../onnx/graph.js';
import { convertOpset } from '../onnx/opset-convert.js';
import { defaultOpset, ModelError, onnx } from '../onnx/proto.js';
import { declaredDims, formatDims, tensorValueInfo, type Dim } from '../onnx/shape.js';
import { encodeTensor } from '../onnx/tensor-proto.js';

/** How an image batch is laid out: channels first (ONNX's convolutions) or last (Keras/TensorFlow). */
export type Layout = 'NCHW' | 'NHWC';

/** What the loader knows besides the graph: the label count and the sidecar's or caller's explicit choices. */
export interface ImportOptions {
  /** Names the model in messages (its path or URL). */
  source: string;
  /** Number of class labels: the logits' width must equal it. */
  labelCount: number;
  /** Graph input fed the images; default: the first graph input that is not an initializer. */
  input?: string;
  /** Tensor holding the class scores; default: found as `importModel` says. */
  output?: string;
  /** Who named `output`, for the report (default 'the caller'). */
  outputNamedBy?: string;
  /** Layout of the input; default: read from its shape. */
  layout?: Layout;
  /** Preprocessing given explicitly (sidecar or caller); what is missing comes from the graph, else ImageNet's. */
  preprocessing?: Partial<Omit<Preprocessing, 'mean' | 'std'>> & { mean?: number[]; std?: number[] };
}

/** What the import decided, and why, for `netvis models info`, `--verbose` and the web app. */
export interface ImportReport {
  opset: { declared: number; used: number; rewritten: Record<string, number> };
  /** What widening float16 changed; undefined for a float32 model. */
  float16?: Float16Widening;
  /** External data files the weights were read from (set by the loader). */
  externalData: string[];
  input: { name: string; dims: Dim[]; layout: Layout; layoutReason: string; channels: 1 | 3 };
  /** The graph's outputs as the file declares them (undefined dims: no shape declared). */
  outputs: { name: string; dims?: Dim[] }[];
  /** The batch size the graph fixes (runs are chunked to it), or undefined when the batch is dynamic. */
  fixedBatch?: number;
  logits: { tensor: string; width: number; reason: string; lookedThrough?: string };
  preprocessing: { value: Preprocessing; reason: string };
}

/** A model ready for a Classifier: NCHW RGB float32 input, one output (the logits), opset ≥ GRADIENT_OPSET. */
export interface ImportedModel {
  model: onnx.ModelProto;
  input: string;
  output: string;
  preprocessing: Preprocessing;
  report: ImportReport;
}

const DT = onnx.TensorProto.DataType;
const FLOAT_TYPES: Record<number, string> = { [DT.FLOAT]: 'float32', [DT.DOUBLE]: 'float64' };
// PIL's convert('L') weights (ITU-R 601-2 luma), without its rounding to whole grey levels.
const LUMA = [0.299, 0.587, 0.114];

/**
 * Imports a decoded model (its external data already inlined), in place, and says what it decided:
 * - float16 weights and compute are widened to float32 (`widenFloat16`);
 * - the input must be a rank-4 image batch; its layout comes from `options.layout` or the shape (channels 1 or 3
 *   first or last; an input fed straight to a Conv is NCHW); NHWC inputs get a Transpose and grayscale ones a luma
 *   sum in front, so the graph always takes NCHW RGB; a fixed H×W sets the crop (and resize, ×256/224) unless the
 *   preprocessing says otherwise, in which case they must agree;
 * - the logits are `options.output`, else the only output N×K with K = `labelCount`; a Softmax or LogSoftmax that
 *   produces them is looked through (its input becomes the logits, so gradients are of scores); the graph then has
 *   that one output, and the nodes it does not need are dropped;
 * - the user's nodes are converted to GRADIENT_OPSET when older (`convertOpset`);
 * - a batch dimension fixed in the graph is reported (the Classifier chunks runs to it).
 * Throws a one-line ModelError naming the model, the tensor and the expected and actual shapes or counts when the
 * model cannot be used as it is.
 */
export function importModel(model: onnx.ModelProto, options: ImportOptions): ImportedModel {
  const { source } = options;
  const graph = model.graph;
  const declared = defaultOpset(model);
  const float16 = widenFloat16(model, source);

  // The image input.
  let view = new GraphView(graph);
  const inputName = options.input ?? view.inputs[0];
  const inputInfo = graph.input.find((i) => i.name === inputName);
  if (!inputInfo || !view.inputs.includes(inputName))
    throw new ModelError(`${source}: no graph input '${inputName}' (inputs: ${view.inputs.join(', ')})`);
  const elemType = inputInfo.type?.tensorType?.elemType ?? 0;
  if (elemType !== DT.FLOAT)
    throw new ModelError(
      `${source}: input '${inputName}' is of ${FLOAT_TYPES[elemType] ?? `ONNX type ${elemType}`}; netvis feeds float32 images`,
    );
  const inDims = declaredDims(inputInfo);
  if (!inDims || inDims.length !== 4)
    throw new ModelError(
      `${source}: input '${inputName}' is ${formatDims(inDims)} (rank ${inDims?.length ?? '?'}); netvis needs an image batch of rank 4, N×C×H×W or N×H×W×C`,
    );
  const { layout, reason: layoutReason } = decideLayout(inDims, options.layout, view, inputName, source);
  const [channelDim, h, w] =
    layout === 'NCHW' ? [inDims[1], inDims[2], inDims[3]] : [inDims[3], inDims[1], inDims[2]];
  if (channelDim !== 1 && channelDim !== 3)
    throw new ModelError(
      `${source}: input '${inputName}' is ${formatDims(inDims)} (${layout}) with ${channelDim ?? 'an unknown number of'} channels; netvis feeds 1 (grayscale) or 3 (RGB)`,
    );
  const preprocessing = decidePreprocessing(options, inputName, inDims, channelDim, h, w);
  const fixedBatch = typeof inDims[0] === 'number' ? inDims[0] : undefined;

  // The logits, and the graph cut down to them.
  const outputs = graph.output.map((o) => ({ name: o.name, dims: declaredDims(o) }));
  const logits = findLogits(model, view, options);
  const logitsInfo = tensorValueInfo(logits.tensor, DT.FLOAT, [inDims[0] ?? 'N', logits.width]);
  graph.output = [logitsInfo];
  pruneTo(graph, logits.tensor, inputName);
  view = new GraphView(graph);
  const extra = view.inputs.filter((i) => i !== inputName);
  if (extra.length > 0)
    throw new ModelError(
      `${source}: the logits also depend on input${extra.length > 1 ? 's' : ''} ${extra.map((i) => `'${i}'`).join(', ')}; netvis feeds only the image`,
    );

  const conversion = convertOpset(model, GRADIENT_OPSET, source);

  // Inputs other layouts and channel counts get an adapter in front, so every method sees N×3×H×W.
  let nchw: Dim[] = layout === 'NCHW' ? inDims : [inDims[0], inDims[3], inDims[1], inDims[2]];
  if (layout === 'NHWC') {
    prependInput(graph, inputName, nchw, 'nhwc', (x, inner) => [
      node('Transpose', 'netvis_nchw_to_nhwc', [x], [inner], { perm: { ints: [0, 2, 3, 1] } }),
    ]);
  }
  if (channelDim === 1) {
    nchw = [nchw[0], 3, nchw[2], nchw[3]];
    const weights = `${inputName}__luma_weights`;
    const axes = `${inputName}__luma_axes`;
    graph.initializer.push(
      encodeTensor(weights, 'float32', [1, 3, 1, 1], Float32Array.from(LUMA)),
      encodeTensor(axes, 'int64', [1], BigInt64Array.of(1n)),
    );
    prependInput(graph, inputName, nchw, 'gray', (x, inner) => [
      node('Mul', 'netvis_luma_weigh', [x, weights], [`${inner}_weighted`], {}),
      node('ReduceSum', 'netvis_luma_sum', [`${inner}_weighted`, axes], [inner], { keepdims: { i: 1 } }),
    ]);
  }

  return {
    model,
    input: inputName,
    output: logits.tensor,
    preprocessing: preprocessing.value,
    report: {
      opset: { declared, used: conversion?.to ?? declared, rewritten: conversion?.rewritten ?? {} },
      float16,
      externalData: [],
      input: { name: inputName, dims: inDims, layout, layoutReason, channels: channelDim },
      outputs,
      fixedBatch,
      logits,
      preprocessing,
    },
  };
}

// Larger inputs than this are no image classifier's, and would only exhaust memory.
const MAX_SIDE = 4096;

/** Renames graph input `name` to an inner tensor fed by `adapter` from a new input `name` of dims `dims`. */
function prependInput(
  graph: onnx.GraphProto,
  name: string,
  dims: Dim[],
  tag: string,
  adapter: (input: string, inner: string) => onnx.NodeProto[],
): void {
  const inner = `${name}__${tag}`;
  for (const n of graph.node) n.input = n.input.map((i) => (i === name ? inner : i));
  graph.valueInfo = graph.valueInfo.filter((v) => v.name !== name);
  graph.node.unshift(...adapter(name, inner));
  const at = graph.input.findIndex((i) => i.name === name);
  graph.input[at] = tensorValueInfo(name, DT.FLOAT, dims);
}

function decideLayout(
  dims: Dim[],
  given: Layout | undefined,
  view: GraphView,
  input: string,
  source: string,
): { layout: Layout; reason: string } {
  const isChannels = (d: Dim) => d === 1 || d === 3;
  const fromShape: Layout | undefined =
    isChannels(dims[1]) && !isChannels(dims[3])
      ? 'NCHW'
      : isChannels(dims[3]) && !isChannels(dims[1])
        ? 'NHWC'
        : undefined;
  const shape = formatDims(dims);
  if (given) {
    if (given !== 'NCHW' && given !== 'NHWC')
      throw new ModelError(`${source}: layout '${String(given)}' is not NCHW or NHWC`);
    if (fromShape && fromShape !== given)
      throw new ModelError(
        `${source}: the sidecar says layout ${given}, but input '${input}' is ${shape} (${fromShape})`,
      );
    return { layout: given, reason: `as the sidecar says` };
  }
  if (fromShape)
    return {
      layout: fromShape,
      reason: `from the shape ${shape} (channels ${fromShape === 'NCHW' ? 'second' : 'last'})`,
    };
  if (view.consumers.get(input)?.every((n) => n.opType === 'Conv'))
    return { layout: 'NCHW', reason: `the input feeds a Conv, which takes NCHW` };
  throw new ModelError(
    `${source}: input '${input}' is ${shape}, which does not say whether channels come second or last; set "layout": "NCHW" or "NHWC" in the sidecar`,
  );
}

function decidePreprocessing(
  options: ImportOptions,
  input: string,
  dims: Dim[],
  channels: 1 | 3,
  h: Dim,
  w: Dim,
): { value: Preprocessing; reason: string } {
  const { source } = options;
  const given = options.preprocessing ?? {};
  const reasons: string[] = [];
  const triple = (v: number[] | undefined, what: 'mean' | 'std'): [number, number, number] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x)))
      throw new ModelError(`${source}: preprocessing ${what} must be numbers, got ${JSON.stringify(v)}`);
    if (channels === 1 && (v.length === 1 || (v.length === 3 && v.every((x) => x === v[0]))))
      return [v[0], v[0], v[0]];
    if (channels === 3 && v.length === 3) return [v[0], v[1], v[2]];
    throw new ModelError(
      `${source}: preprocessing ${what} has ${v.length} values; the model takes ${channels === 1 ? 'grayscale (give 1)' : 'RGB (give 3)'}`,
    );
  };
  let mean = triple(given.mean, 'mean');
  let std = triple(given.std, 'std');
  if (channels === 1) {
    reasons.push(`grayscale input: RGB images are turned to luma (0.299 R + 0.587 G + 0.114 B) in the graph`);
    if (!mean || !std) {
      mean ??= [0, 0, 0];
      std ??= [1, 1, 1];
      reasons.push(
        'no mean/std given: grey levels in [0, 1] (set preprocessing.mean and std if it was trained otherwise)',
      );
    }
  }
  let crop = given.crop;
  let resize = given.resize;
  if (typeof h === 'number' || typeof w === 'number') {
    if (h !== w)
      throw new ModelError(
        `${source}: input '${input}' is ${formatDims(dims)}: netvis feeds square crops, so it needs H = W (both fixed or both free)`,
      );
    if (crop !== undefined && crop !== h)
      throw new ModelError(
        `${source}: input '${input}' is ${formatDims(dims)}, but the preprocessing crops ${crop}×${crop}; set preprocessing.crop to ${h}`,
      );
    if (crop === undefined) {
      crop = h as number;
      if (h !== IMAGENET_PREPROCESSING.crop) reasons.push(`crop ${h}×${h} as the input's fixed size`);
    }
    if (resize === undefined && crop !== IMAGENET_PREPROCESSING.crop) {
      resize = Math.round((crop * IMAGENET_PREPROCESSING.resize) / IMAGENET_PREPROCESSING.crop);
      reasons.push(`resize ${resize} (ImageNet's ratio 256/224)`);
    }
  }
  const value: Preprocessing = {
    resize: resize ?? IMAGENET_PREPROCESSING.resize,
    crop: crop ?? IMAGENET_PREPROCESSING.crop,
    mean: mean ?? IMAGENET_PREPROCESSING.mean,
    std: std ?? IMAGENET_PREPROCESSING.std,
  };
  if (value.std.some((s) => !(s > 0)))
    throw new ModelError(`${source}: preprocessing std must be > 0, got [${value.std.join(', ')}]`);
  const side = (v: unknown) => Number.isInteger(v) && (v as number) > 0 && (v as number) <= MAX_SIDE;
  if (!(side(value.crop) && side(value.resize) && value.resize >= value.crop))
    throw new ModelError(
      `${source}: preprocessing needs whole-pixel sizes with 0 < crop ≤ resize ≤ ${MAX_SIDE} (got resize ${JSON.stringify(value.resize)}, crop ${JSON.stringify(value.crop)})`,
    );
  const explicit = Object.keys(given).length > 0;
  if (reasons.length === 0)
    reasons.push(explicit ? 'as the sidecar says' : "ImageNet's (resize 256, crop 224)");
  return { value, reason: reasons.join('; ') };
}

/** The logits tensor, its width, and why it was chosen. */
function findLogits(
  model: onnx.ModelProto,
  view: GraphView,
  { source, labelCount, output, outputNamedBy = 'the caller' }: ImportOptions,
): ImportReport['logits'] {
  const graph = model.graph;
  const infos = new Map([...graph.valueInfo, ...graph.output].map((v) => [v.name ?? '', v]));
  const dimsOf = (t: string) => declaredDims(infos.get(t));
  const describe = (t: string) => `'${t}' ${formatDims(dimsOf(t))}`;
  // A Softmax/LogSoftmax over the class axis of a 2-D tensor: its input holds the scores.
  const lookThrough = (t: string): { tensor: string; op?: string } => {
    const producer = view.producer.get(t);
    if (!producer || !['Softmax', 'LogSoftmax'].includes(producer.opType)) return { tensor: t };
    const axis = producer.attribute.find((a) => a.name === 'axis');
    const opset = defaultOpset(model);
    const value = axis ? Number(axis.i) : opset < 13 ? 1 : -1;
    if (value !== 1 && value !== -1) return { tensor: t };
    return { tensor: producer.input[0], op: producer.opType };
  };
  const check = (t: string, reason: string): ImportReport['logits'] => {
    const dims = dimsOf(t);
    const through = lookThrough(t);
    if (dims && dims.length !== 2)
      throw new ModelError(
        `${source}: the logits ${describe(t)} are not 2-D; netvis needs N×classes (N×${labelCount} for these labels)`,
      );
    const width = dims?.[1];
    if (typeof width === 'number' && width !== labelCount)
      throw new ModelError(
        `${source}: the logits ${describe(t)} have ${width} classes, but the labels have ${labelCount}`,
      );
    return {
      tensor: through.tensor,
      width: labelCount,
      reason: through.op
        ? `'${through.tensor}', the scores that the final ${through.op} turns into ${reason} (looked through: the model's own probabilities are their softmax, gradients are of the scores)`
        : reason,
      lookedThrough: through.op,
    };
  };
  if (output) {
    if (!view.tensorNames().has(output))
      throw new ModelError(
        `${source}: no tensor '${output}' to use as logits (outputs: ${view.outputs.join(', ')})`,
      );
    return check(output, `'${output}', as ${outputNamedBy} names it`);
  }
  const outputs = graph.output.map((o) => o.name);
  const twoD = outputs.filter((o) => dimsOf(o)?.length === 2);
  const matching = twoD.filter((o) => dimsOf(o)![1] === labelCount);
  const distinct = [...new Set(matching.map((o) => lookThrough(o).tensor))];
  if (matching.length > 0 && distinct.length === 1) {
    const first = matching.find((o) => lookThrough(o).tensor === distinct[0])!;
    return check(first, `'${first}', the only output N×${labelCount} (${labelCount} = the label count)`);
  }
  if (distinct.length > 1)
    throw new ModelError(
      `${source}: outputs ${matching.map(describe).join(', ')} all have ${labelCount} columns; name the logits with --output or the sidecar's "output"`,
    );
  if (outputs.length === 1 && !dimsOf(outputs[0]))
    return check(
      outputs[0],
      `'${outputs[0]}', the only output (its shape is not declared: checked at the first run)`,
    );
  if (twoD.length === 0)
    throw new ModelError(
      `${source}: no 2-D output (N×classes, ${labelCount} classes for these labels); outputs: ${outputs.map(describe).join(', ')}`,
    );
  throw new ModelError(
    `${source}: no output has ${labelCount} columns (the label count); outputs: ${outputs.map(describe).join(', ')}`,
  );
}

/** Keeps only the nodes, initializers and inputs the tensor `target` depends on (and the image input). */
function pruneTo(graph: onnx.GraphProto, target: string, input: string): void {
  const needed = new Set([target]);
  const kept: onnx.NodeProto[] = [];
  for (let k = graph.node.length - 1; k >= 0; k--) {
    const n = graph.node[k];
    if (!n.output.some((o) => needed.has(o))) continue;
    kept.push(n);
    for (const i of n.input) if (i) needed.add(i);
  }
  graph.node = kept.reverse();
  graph.initializer = graph.initializer.filter((t) => needed.has(t.name));
  graph.input = graph.input.filter((i) => needed.has(i.name) || i.name === input);
}

/** What the import decided, one line per topic (`logits: …`, `input: …`, `batch: …`, …), for people. */
export function describeImport(r: ImportReport): string[] {
  const lines = [`logits: ${r.logits.reason}`];
  const { name, dims, layout, layoutReason, channels } = r.input;
  const fed =
    layout === 'NHWC' || channels === 1
      ? `; netvis feeds it N×3×H×W through ${[layout === 'NHWC' ? 'a Transpose' : '', channels === 1 ? 'a luma sum' : ''].filter(Boolean).join(' and ')}`
      : '';
  lines.push(
    `input: '${name}' ${formatDims(dims)}, ${layout} ${layoutReason}${channels === 1 ? ', grayscale' : ''}${fed}`,
  );
  lines.push(
    r.fixedBatch === undefined
      ? 'batch: dynamic'
      : `batch: fixed at ${r.fixedBatch} in the graph; runs are split into batches of ${r.fixedBatch}`,
  );
  const rewritten = Object.entries(r.opset.rewritten).map(([op, n]) => `${op} ×${n}`);
  lines.push(
    r.opset.used === r.opset.declared
      ? `opset: ${r.opset.declared}`
      : `opset: ${r.opset.declared}, converted to ${r.opset.used}${rewritten.length ? ` (rewrote ${rewritten.join(', ')})` : ' (no node changed form)'}`,
  );
  if (r.float16)
    lines.push(
      r.float16.casts > 0
        ? `float16: computed in float32 (${r.float16.tensors} tensors widened exactly, ${r.float16.casts} Casts to float16 now cast to float32)`
        : `float16: ${r.float16.tensors} weight tensors stored as float16, widened exactly to float32 at load (${r.float16.folded} Casts folded)`,
    );
  if (r.externalData.length) lines.push(`external data: ${r.externalData.join(', ')}`);
  const p = r.preprocessing.value;
  lines.push(
    `preprocessing: resize ${p.resize}, crop ${p.crop}, mean [${p.mean.join(', ')}], std [${p.std.join(', ')}] (${r.preprocessing.reason})`,
  );
  return lines;
}
