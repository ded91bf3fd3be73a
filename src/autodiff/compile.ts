import { Attributes } from '../onnx/attributes.js';
import { GraphView } from '../onnx/graph.js';
import { cloneModel, ModelError, onnx } from '../onnx/proto.js';
import { dataTypeCode, toNumbers } from '../onnx/tensor-proto.js';
import { GraphBuilder } from './builder.js';
import { canonize } from './canonizers.js';
import { assignRules } from './composite.js';
import { emitHead, headNeedsLabels } from './heads.js';
import { checkGradientOpset } from './opset.js';
import { gradientRules } from './rules/index.js';
import { emitRule } from './rules/modified.js';
import type { GradientSpec, ObjectiveHead, RuleContext, TensorInfo } from './types.js';

/** A compiled gradient graph and the names of what it takes and gives. */
export interface CompiledGradient {
  model: onnx.ModelProto;
  /** Graph input seeding each seed tensor's gradient, by seed tensor. */
  seedInputs: Record<string, string>;
  /** Graph output holding the gradient of each wrt tensor, by wrt tensor. */
  gradOutputs: Record<string, string>;
  /** Every graph output, in order. */
  outputs: string[];
  /** With an objective head: its graph output (the per-row loss), its seed input and its int64 class inputs. */
  objective?: ObjectiveIO;
}

/** Graph names of an objective head: output `loss` (N), inputs `dloss` (N), `loss_classes` and `loss_labels` (N, int64). */
export interface ObjectiveIO {
  loss: string;
  seed: string;
  classes: string;
  /** Only for heads that need true labels (targeted DLR). */
  labels?: string;
}

/** The graph input or output name carrying the gradient of `tensor`: `d` + its name (`dlogits`, `dinput`). */
export function gradName(tensor: string): string {
  return `d${tensor}`;
}

const isFloat = (info: TensorInfo | undefined) => info?.type === 'float32' || info?.type === 'float64';

/** The op types in `model` that lie between the spec's wrt and seed tensors and have no gradient rule. */
export function unsupportedOps(model: onnx.ModelProto): { opType: string; node: string }[] {
  return model.graph.node
    .filter((n) => !gradientRules[n.opType] && !NO_GRADIENT.has(n.opType))
    .map((n) => ({ opType: n.opType, node: n.name }));
}

/** Ops whose outputs never carry a gradient (they compute shapes and constants). */
export const NO_GRADIENT: ReadonlySet<string> = new Set(['Constant', 'ConstantOfShape', 'Shape', 'Size']);

/**
 * Builds a model that outputs the original outputs plus the gradient of `Σ seed ⊙ d<seed>` with respect to
 * each wrt tensor, written in ordinary ONNX operators; with a composite, each node's backward is the rule the
 * composite gives it (after the composite's canonizers have rewritten the forward graph). `info` gives every
 * tensor's type and dims at the shapes to compile for (and values of integer tensors), e.g. from a probe run of the
 * forward model.
 */
export function compileGradient(
  source: onnx.ModelProto,
  spec: GradientSpec,
  info: ReadonlyMap<string, TensorInfo>,
): CompiledGradient {
  checkGradientOpset(source);
  const model = cloneModel(source);
  const graph = model.graph;
  const sourceView = new GraphView(source.graph);
  const seeds = spec.seeds ?? (spec.objective ? [] : [sourceView.outputs[0]]);
  const wrt = spec.wrt ?? [sourceView.inputs[0]];
  const expose = spec.expose ?? [];
  const headLogits = spec.objective && (spec.objective.logits ?? sourceView.outputs[0]);
  const starts = headLogits ? [...seeds, headLogits] : seeds;
  const added = canonize(graph, spec.composite?.canonizers ?? [], new Set([...starts, ...wrt, ...expose]));
  const view = new GraphView(graph);
  const names = view.tensorNames();
  for (const t of [...starts, ...wrt, ...expose]) {
    if (!names.has(t)) throw new ModelError(`gradient spec: the model has no tensor named '${t}'`);
  }
  const infoOf = (name: string): TensorInfo => {
    const i = info.get(name) ?? added.get(name);
    if (!i) throw new ModelError(`no shape information for tensor '${name}'`);
    return i;
  };
  const floatType = infoOf(wrt[0]).type;
  if (floatType !== 'float32' && floatType !== 'float64') {
    throw new ModelError(`cannot differentiate with respect to '${wrt[0]}' of type ${floatType}`);
  }

  // Tensors that depend on a wrt tensor through float values: shape subgraphs stay outside.
  const active = new Set(wrt);
  for (const node of graph.node) {
    if (node.input.some((i) => active.has(i))) {
      for (const o of node.output) if (o && isFloat(info.get(o))) active.add(o);
    }
  }
  for (const s of starts) {
    if (!active.has(s))
      throw new ModelError(`gradient spec: '${s}' does not depend on ${wrt.map((w) => `'${w}'`).join(', ')}`);
  }
  // Tensors the seeds depend on: only nodes between wrt and seeds get a backward.
  const needed = new Set(starts);
  for (let k = graph.node.length - 1; k >= 0; k--) {
    const node = graph.node[k];
    if (node.output.some((o) => needed.has(o))) for (const i of node.input) if (i) needed.add(i);
  }
  const onPath = graph.node.filter(
    (n) => n.input.some((i) => active.has(i)) && n.output.some((o) => active.has(o) && needed.has(o)),
  );
  const missing = onPath.find((n) => !gradientRules[n.opType]);
  const needsOf = (n: onnx.NodeProto) => n.input.map((i) => active.has(i));
  const rules = spec.composite ? assignRules(onPath, spec.composite, needsOf) : new Map();
  if (missing) {
    throw new ModelError(
      `${missing.opType} node '${missing.name}': operator ${missing.opType} has no gradient rule in netvis`,
    );
  }

  const b = new GraphBuilder(names, floatType);
  const parts = new Map<string, string[]>();
  const addPart = (t: string, g: string) => parts.set(t, [...(parts.get(t) ?? []), g]);
  const total = (t: string): string | undefined => {
    const p = parts.get(t);
    if (!p || p.length === 0) return undefined;
    if (p.length > 1) parts.set(t, [b.op1('Sum', p)]);
    return parts.get(t)![0];
  };

  const seedInputs: Record<string, string> = {};
  for (const s of seeds) {
    seedInputs[s] = gradName(s);
    if (names.has(gradName(s)))
      throw new ModelError(`cannot name the seed input '${gradName(s)}': the model uses that name`);
    addPart(s, gradName(s));
    graph.input.push(valueInfo(gradName(s), infoOf(s).type, infoOf(s).dims));
  }
  const objective = headLogits ? addObjectiveHead(spec.objective!.head, headLogits) : undefined;

  for (let k = onPath.length - 1; k >= 0; k--) {
    const node = onPath[k];
    const grads = node.output.map((o) => (active.has(o) ? total(o) : undefined));
    if (grads.every((g) => g === undefined)) continue;
    const ctx: RuleContext = {
      node,
      attrs: new Attributes(node),
      b,
      grads,
      needs: needsOf(node),
      dims: (name) => infoOf(name).dims,
      values: (name) => {
        const i = infoOf(name);
        if (!i.value)
          throw new ModelError(`${node.opType} node '${node.name}': input '${name}' must be a constant`);
        return toNumbers(i.value);
      },
      addOutput: (index) => {
        if (!node.output[index]) node.output[index] = b.fresh(`${node.name}_output${index}`);
        return node.output[index];
      },
    };
    const rule = rules.get(node);
    const inputGrads = rule ? emitRule(ctx, rule) : gradientRules[node.opType](ctx);
    node.input.forEach((inp, i) => {
      const g = inputGrads[i];
      if (g !== undefined && ctx.needs[i]) addPart(inp, g);
    });
  }

  const gradOutputs: Record<string, string> = {};
  for (const w of wrt) {
    const out = gradName(w);
    if (names.has(out))
      throw new ModelError(`cannot name the gradient output '${out}': the model uses that name`);
    b.nodes.push(
      onnx.NodeProto.create({
        opType: 'Identity',
        name: `${out}_identity`,
        input: [total(w) ?? b.zeros(infoOf(w).dims)],
        output: [out],
      }) as onnx.NodeProto,
    );
    gradOutputs[w] = out;
    graph.output.push(valueInfo(out, floatType, infoOf(w).dims));
  }
  for (const e of expose) {
    if (!view.outputs.includes(e)) graph.output.push(valueInfo(e, infoOf(e).type, infoOf(e).dims));
  }
  graph.node.push(...b.nodes);
  graph.initializer.push(...b.initializers);
  return { model, seedInputs, gradOutputs, outputs: graph.output.map((o) => o.name), objective };

  // The head's nodes go first in the builder (they read only forward tensors), its logits gradient joins the parts.
  function addObjectiveHead(head: ObjectiveHead, logits: string): ObjectiveIO {
    const { type, dims } = infoOf(logits);
    if (dims.length !== 2)
      throw new ModelError(`objective head ${head.kind}: '${logits}' has dims [${dims}], expected N×classes`);
    if (type !== floatType)
      throw new ModelError(
        `objective head ${head.kind}: '${logits}' is ${type}, the gradient is ${floatType}`,
      );
    const io: ObjectiveIO = {
      loss: 'loss',
      seed: gradName('loss'),
      classes: 'loss_classes',
      labels: headNeedsLabels(head) ? 'loss_labels' : undefined,
    };
    for (const name of [io.loss, io.seed, io.classes, io.labels]) {
      if (name && names.has(name))
        throw new ModelError(`cannot name the objective head's '${name}': the model uses that name`);
      if (name) names.add(name);
    }
    const n = dims[0];
    graph.input.push(valueInfo(io.classes, 'int64', [n]));
    if (io.labels) graph.input.push(valueInfo(io.labels, 'int64', [n]));
    graph.input.push(valueInfo(io.seed, type, [n]));
    const out = emitHead(b, head, {
      logits,
      classes: io.classes,
      labels: io.labels,
      weights: io.seed,
      dims: [n, dims[1]],
    });
    b.nodes.push(
      onnx.NodeProto.create({
        opType: 'Identity',
        name: `${io.loss}_identity`,
        input: [out.loss],
        output: [io.loss],
      }) as onnx.NodeProto,
    );
    graph.output.push(valueInfo(io.loss, type, [n]));
    addPart(logits, out.dlogits);
    return io;
  }
}

function valueInfo(name: string, type: TensorInfo['type'], dims: number[]): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: { elemType: dataTypeCode(type), shape: { dim: dims.map((d) => ({ dimValue: d })) } },
    },
  });
}
