import { compileGradient, type CompiledGradient } from '../autodiff/compile.js';
import { headNeedsLabels } from '../autodiff/heads.js';
import type { Composite, ObjectiveHead, TensorInfo } from '../autodiff/types.js';
import type { Preprocessing } from '../image/types.js';
import { foldConstants } from '../onnx/fold.js';
import { bypassMessage, modelDownstreamOf } from '../onnx/downstream.js';
import { GraphView, modulePath } from '../onnx/graph.js';
import { encodeModel, ModelError, type onnx } from '../onnx/proto.js';
import type { Backend, RuntimeTensor, Session } from '../runtime/backend.js';
import { tensorInfo } from '../runtime/probe.js';
import { declaredDims } from '../onnx/shape.js';
import { concatBatch, padBatch, sliceBatch, type Tensor } from '../tensor.js';
import { closestStrings } from '../util/closest.js';
import type { ImportReport } from './import.js';
import type { ClassLabels } from './labels.js';

/** What a classifier needs besides its graph. */
export interface ClassifierConfig {
  labels: ClassLabels;
  preprocessing: Preprocessing;
  /** Graph input fed the image batch; default: the first non-initializer input. */
  input?: string;
  /** Graph output holding the class scores (logits); default: the first output. */
  output?: string;
  /** Intra-op threads per session; default: the backend's (all cores in Node). */
  threads?: number;
  /** What importing the model decided (`importModel`), when it was imported. */
  report?: ImportReport;
}

/**
 * A loss on the logits computed inside the graph (see ObjectiveHead for each head's definition): per row i its
 * class `classes[i]` (the label for untargeted losses, the target for targeted ones), and for targeted DLR its
 * true label `labels[i]`. The backward pass starts from Σᵢ weights[i] · loss[i].
 */
export interface ObjectiveRequest {
  head: ObjectiveHead;
  /** One class index per image. */
  classes: readonly number[];
  /** One true label per image; targeted DLR only. */
  labels?: readonly number[];
  /** Per image, the loss's weight in the objective (e.g. −1 to descend it, 0 to leave a row out). Default 1 each. */
  weights?: readonly number[];
}

/** A gradient to compute along with the forward pass. */
export interface GradientRequest {
  /** Seeds by tensor (name or layer path): the objective is Σ tensor ⊙ seed. Default key: the logits output. */
  seeds?: Record<string, Tensor>;
  /** A loss on the logits compiled into the graph, added to the seeded objective. Needs `seeds` or this. */
  objective?: ObjectiveRequest;
  /** Tensors (names or layer paths) to differentiate with respect to; default: the input image. */
  wrt?: string[];
  /** Inner tensors (names or layer paths) whose forward values to return too. */
  expose?: string[];
  /** The backward rules (e.g. GUIDED_BACKPROP, an LRP composite); default: the true gradient. */
  composite?: Composite;
}

/** Forward outputs (logits and exposed tensors, by the names asked for), gradients (by wrt name), and the objective head's per-row loss. */
export interface GradientResult {
  outputs: Record<string, Tensor>;
  grads: Record<string, Tensor>;
  /** With an objective: each image's loss (N), unweighted. */
  loss?: Float32Array;
}

interface Compiled {
  session: Session;
  compiled: CompiledGradient;
}

// Compiled sessions kept per classifier; older ones are released (keeps memory bounded when shapes vary).
const MAX_SESSIONS = 6;

const f32 = (t: Tensor): RuntimeTensor => ({ type: 'float32', dims: t.dims, data: t.data });
const fromRuntime = (t: RuntimeTensor): Tensor => ({ data: t.data as Float32Array, dims: t.dims });
const mapValues = (r: Record<string, Tensor>, fn: (t: Tensor, key: string) => Tensor) =>
  Object.fromEntries(Object.entries(r).map(([k, t]) => [k, fn(t, k)]));

/** An ONNX image classifier with labels, preprocessing, and gradients compiled into its graph on demand. */
export class Classifier {
  readonly inputName: string;
  readonly outputName: string;
  readonly labels: ClassLabels;
  readonly preprocessing: Preprocessing;
  /** The batch size the graph's input fixes, or undefined when it is dynamic; runs are chunked to it. */
  readonly fixedBatch?: number;
  /** What importing the model decided, when it was imported. */
  readonly report?: ImportReport;
  private readonly view: GraphView;
  private readonly sessions = new Map<string, Promise<Compiled>>();
  private readonly probes = new Map<string, Promise<Map<string, TensorInfo>>>();
  private forwardSession?: Promise<Session>;
  private readonly downstreamSessions = new Map<string, Promise<{ session: Session; readsInput: boolean }>>();

  /** `source` names the model in messages (e.g. its path). */
  constructor(
    readonly model: onnx.ModelProto,
    private readonly config: ClassifierConfig,
    readonly backend: Backend,
    readonly source = 'model',
  ) {
    this.view = new GraphView(model.graph);
    this.inputName = config.input ?? this.view.inputs[0];
    this.outputName = config.output ?? this.view.outputs[0];
    if (!this.view.inputs.includes(this.inputName))
      throw new ModelError(`${source}: no graph input '${this.inputName}'`);
    if (!this.view.outputs.includes(this.outputName))
      throw new ModelError(`${source}: no graph output '${this.outputName}'`);
    this.labels = config.labels;
    this.preprocessing = config.preprocessing;
    this.report = config.report;
    const batch = declaredDims(model.graph.input.find((i) => i.name === this.inputName))?.[0];
    this.fixedBatch = typeof batch === 'number' ? batch : undefined;
  }

  /** Number of classes (the logits' width). */
  get numClasses(): number {
    return this.labels.size;
  }

  /**
   * The tensor name for a layer given by module path (`features.12`) or already a tensor name. Throws a ModelError
   * naming the closest module paths (or tensor names, for a graph without torch.onnx's scopes) when there is none.
   */
  tensorFor(ref: string): string {
    if (this.view.producer.has(ref) || ref === this.inputName) return ref;
    const node = this.view.nodeForLayer(ref);
    if (!node) {
      const layers = this.model.graph.node.map((n) => modulePath(n.name)).filter(Boolean);
      const candidates = layers.length > 0 ? layers : [...this.view.producer.keys()];
      const closest = closestStrings(ref, candidates, 5).map((n) => `'${n}'`);
      throw new ModelError(
        `${this.source}: no layer or tensor named '${ref}'; closest ${layers.length > 0 ? 'layers' : 'tensors'}: ${closest.join(', ')}`,
      );
    }
    return node.output[0];
  }

  /**
   * Raw class scores N×classes for a normalised N×C×H×W batch. Throws a ModelError if the runtime cannot run the
   * model on it or if the model's scores do not match its labels in number.
   */
  async logits(x: Tensor): Promise<Tensor> {
    this.forwardSession ??= this.openSession(this.model);
    const session = await this.forwardSession;
    let logits: Tensor;
    try {
      [{ logits }] = await this.inChunks(x, [], async (xs) => {
        const out = await session.run({ [this.inputName]: f32(xs) }, [this.outputName]);
        return [{ logits: fromRuntime(out[this.outputName]) }];
      });
    } catch (err) {
      throw new ModelError(`${this.source}: ${this.backend.name} cannot run the model: ${firstLine(err)}`, {
        cause: err,
      });
    }
    if (logits.dims.length !== 2 || logits.dims[1] !== this.numClasses)
      throw new ModelError(
        `${this.source}: output '${this.outputName}' has dims [${logits.dims}], expected N×${this.numClasses} (one score per label)`,
      );
    return logits;
  }

  /**
   * Raw class scores N×classes from a layer's values (`values`: N×… as the layer, given by module path or tensor name,
   * produces them), running only the part of the graph after the layer (`modelDownstreamOf`; one session per layer,
   * kept until `dispose`). For methods that change a layer's activations and ask what the rest of the model makes of
   * them (Ablation-CAM). When that part also reads the input by another path (a residual connection around the
   * layer, as in a transformer block), `images` (N×C×H×W, or 1×C×H×W for all rows) feed that path, as a forward hook
   * replacing the layer's output would; without them this throws a ModelError naming the path.
   */
  async logitsFrom(layer: string, values: Tensor, images?: Tensor): Promise<Tensor> {
    const tensor = this.tensorFor(layer);
    let entry = this.downstreamSessions.get(tensor);
    if (!entry) {
      entry = (async () => {
        let model: onnx.ModelProto;
        try {
          model = modelDownstreamOf(this.model, tensor, { keepInputs: true });
        } catch (err) {
          throw new ModelError(`${this.source}: ${(err as Error).message}`);
        }
        const readsInput = model.graph.input.some((i) => i.name === this.inputName);
        return { session: await this.openSession(model), readsInput };
      })();
      entry.catch(() => this.downstreamSessions.delete(tensor));
      this.downstreamSessions.set(tensor, entry);
    }
    const { session, readsInput } = await entry;
    const feeds: Record<string, RuntimeTensor> = { [tensor]: f32(values) };
    if (readsInput) {
      if (!images) throw new ModelError(`${this.source}: ${bypassMessage(tensor, [this.inputName])}`);
      const n = values.dims[0];
      if (images.dims[0] !== n && images.dims[0] !== 1)
        throw new RangeError(`logitsFrom: ${images.dims[0]} images for ${n} rows of layer values`);
      const rows = images.dims[0] === n ? images : concatBatch(new Array<Tensor>(n).fill(images));
      feeds[this.inputName] = f32(rows);
    }
    const out = await session.run(feeds, [this.outputName]);
    return fromRuntime(out[this.outputName]);
  }

  /** Logits and input gradient of Σ logits ⊙ dlogits (N×classes) for a batch; `composite` picks the backward rules. */
  async inputGradient(
    x: Tensor,
    dlogits: Tensor,
    composite?: Composite,
  ): Promise<{ logits: Tensor; grad: Tensor }> {
    const r = await this.gradients(x, { seeds: { [this.outputName]: dlogits }, composite });
    return { logits: r.outputs[this.outputName], grad: r.grads[this.inputName] };
  }

  /**
   * Logits (N×classes), each image's loss under an objective head (N) and the input gradient of Σ weights ⊙ loss,
   * in one graph run; `composite` picks the backward rules. Throws as `gradients` does.
   */
  async objectiveGradient(
    x: Tensor,
    objective: ObjectiveRequest,
    composite?: Composite,
  ): Promise<{ logits: Tensor; loss: Float32Array; grad: Tensor }> {
    const r = await this.gradients(x, { objective, composite });
    return { logits: r.outputs[this.outputName], loss: r.loss!, grad: r.grads[this.inputName] };
  }

  /**
   * Runs the forward pass and the compiled backward pass for a request (compiled once per request shape). Throws
   * a ModelError for unknown tensors or a graph netvis cannot differentiate, and an Error for an objective whose
   * classes, labels or weights do not give one valid value per image.
   */
  async gradients(x: Tensor, request: GradientRequest): Promise<GradientResult> {
    const seedRefs = Object.keys(request.seeds ?? {});
    if (seedRefs.length === 0 && !request.objective)
      throw new Error('gradients: give seeds or an objective, the backward pass needs somewhere to start');
    const objective = request.objective;
    if (objective) this.objectiveFeeds(objective, x.dims[0]); // checks the per-image numbers before any chunking
    // The objective's per-image numbers travel as N-long rows beside the seeds, so fixed-batch chunks split them too.
    const perImage = (v: readonly number[] | undefined): Tensor[] =>
      v ? [{ data: Float32Array.from(v), dims: [v.length] }] : [];
    const objectiveRows = objective
      ? [...perImage(objective.classes), ...perImage(objective.labels), ...perImage(objective.weights)]
      : [];
    const [outputs, grads, loss] = await this.inChunks(
      x,
      [...seedRefs.map((r) => request.seeds![r]), ...objectiveRows],
      async (xs, rows) => {
        const chunkSeeds = Object.fromEntries(seedRefs.map((r, i) => [r, rows[i]]));
        let chunkObjective: ObjectiveRequest | undefined;
        if (objective) {
          const values = rows.slice(seedRefs.length).map((t) => Array.from(t.data));
          chunkObjective = {
            head: objective.head,
            classes: values.shift()!,
            labels: objective.labels && values.shift(),
            weights: objective.weights && values.shift(),
          };
        }
        const r = await this.gradientsOnce(xs, { ...request, seeds: chunkSeeds, objective: chunkObjective });
        const lossRows: Record<string, Tensor> = r.loss
          ? { loss: { data: r.loss, dims: [r.loss.length] } }
          : {};
        return [r.outputs, r.grads, lossRows];
      },
    );
    return loss.loss ? { outputs, grads, loss: loss.loss.data } : { outputs, grads };
  }

  /**
   * `run(x, rows)` on the batch as it is, or, when the graph fixes the batch size and `x` has another, on chunks of
   * that size of `x` and of the batch-first `rows` (the last chunk padded by repeating its last row), with the
   * batch-first tensors it returns trimmed and joined.
   */
  private async inChunks(
    x: Tensor,
    rows: Tensor[],
    run: (x: Tensor, rows: Tensor[]) => Promise<Record<string, Tensor>[]>,
  ): Promise<Record<string, Tensor>[]> {
    const size = this.fixedBatch;
    const n = x.dims[0];
    if (size === undefined || n === size) return run(x, rows);
    const chunks: Record<string, Tensor>[][] = [];
    for (let start = 0; start < n; start += size) {
      const count = Math.min(size, n - start);
      const fit = (t: Tensor) => padBatch(sliceBatch(t, start, count), size);
      const out = await run(fit(x), rows.map(fit));
      chunks.push(out.map((r) => mapValues(r, (t) => sliceBatch(t, 0, count))));
    }
    return chunks[0].map((first, i) => mapValues(first, (_, k) => concatBatch(chunks.map((c) => c[i][k]))));
  }

  private async gradientsOnce(x: Tensor, request: GradientRequest): Promise<GradientResult> {
    const seedRefs = Object.keys(request.seeds ?? {});
    const seeds = seedRefs.map((r) => this.tensorFor(r));
    const wrtRefs = request.wrt ?? [this.inputName];
    const wrt = wrtRefs.map((r) => this.tensorFor(r));
    const exposeRefs = request.expose ?? [];
    const expose = exposeRefs.map((r) => this.tensorFor(r));
    const head = request.objective?.head;
    const objectiveFeeds = request.objective && this.objectiveFeeds(request.objective, x.dims[0]);
    const composite = request.composite;
    const key = JSON.stringify({ seeds, wrt, expose, composite, head, dims: x.dims });
    let entry = this.sessions.get(key);
    if (!entry) {
      const objective = head && { head, logits: this.outputName };
      entry = this.compile(x.dims, { seeds, wrt, expose, composite, objective });
      this.sessions.set(key, entry);
      entry.catch(() => this.sessions.delete(key));
      await this.evict();
    } else {
      // Refresh recency.
      this.sessions.delete(key);
      this.sessions.set(key, entry);
    }
    const { session, compiled } = await entry;
    const feeds: Record<string, RuntimeTensor> = { [this.inputName]: f32(x) };
    seeds.forEach((s, i) => (feeds[compiled.seedInputs[s]] = f32(request.seeds![seedRefs[i]])));
    const io = compiled.objective;
    if (io && objectiveFeeds) {
      feeds[io.classes] = objectiveFeeds.classes;
      if (io.labels) feeds[io.labels] = objectiveFeeds.labels!;
      feeds[io.seed] = objectiveFeeds.weights;
    }
    const wanted = [this.outputName, ...expose, ...wrt.map((w) => compiled.gradOutputs[w])];
    if (io) wanted.push(io.loss);
    const out = await session.run(feeds, [...new Set(wanted)]);
    const outputs: Record<string, Tensor> = { [this.outputName]: fromRuntime(out[this.outputName]) };
    exposeRefs.forEach((r, i) => (outputs[r] = fromRuntime(out[expose[i]])));
    const grads: Record<string, Tensor> = {};
    wrtRefs.forEach((r, i) => (grads[r] = fromRuntime(out[compiled.gradOutputs[wrt[i]]])));
    return io ? { outputs, grads, loss: out[io.loss].data as Float32Array } : { outputs, grads };
  }

  // The objective head's per-row inputs, checked against the batch and the classes.
  private objectiveFeeds(o: ObjectiveRequest, n: number) {
    const what = `objective ${o.head.kind}`;
    const indices = (values: readonly number[] | undefined, name: 'class' | 'label'): RuntimeTensor => {
      const plural = name === 'class' ? 'classes' : 'labels';
      if (!values || values.length !== n)
        throw new Error(`${what}: ${values?.length ?? 'no'} ${plural} for ${n} images`);
      for (const v of values)
        if (!(Number.isInteger(v) && v >= 0 && v < this.numClasses))
          throw new RangeError(`${what}: ${name} ${v}, expected an index from 0 to ${this.numClasses - 1}`);
      return { type: 'int64', dims: [n], data: BigInt64Array.from(values, (v) => BigInt(v)) };
    };
    const needsLabels = headNeedsLabels(o.head);
    if (!needsLabels && o.labels) throw new Error(`${what}: labels are only read by targeted DLR`);
    const weights = o.weights ?? new Array<number>(n).fill(1);
    if (weights.length !== n) throw new Error(`${what}: ${weights.length} weights for ${n} images`);
    return {
      classes: indices(o.classes, 'class'),
      labels: needsLabels ? indices(o.labels, 'label') : undefined,
      weights: { type: 'float32', dims: [n], data: Float32Array.from(weights) } as RuntimeTensor,
    };
  }

  /** Releases every session this classifier opened. */
  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    this.probes.clear();
    for (const e of all) await (await e.catch(() => undefined))?.session.release();
    if (this.forwardSession) await (await this.forwardSession).release();
    this.forwardSession = undefined;
    const downstream = [...this.downstreamSessions.values()];
    this.downstreamSessions.clear();
    for (const s of downstream) await (await s.catch(() => undefined))?.session.release();
  }

  private async compile(dims: number[], spec: Parameters<typeof compileGradient>[1]): Promise<Compiled> {
    const probeKey = dims.join('x');
    let probe = this.probes.get(probeKey);
    if (!probe) {
      const inputs = { [this.inputName]: { type: 'float32' as const, dims } };
      probe = tensorInfo(this.backend, this.model, inputs).catch((err: Error) => {
        this.probes.delete(probeKey);
        throw err instanceof ModelError
          ? err
          : new ModelError(`${this.source}: ${this.backend.name} cannot run the model: ${firstLine(err)}`);
      });
      this.probes.set(probeKey, probe);
    }
    const info = await probe;
    const compiled = compileGradient(this.model, spec, info);
    // Compiled for these dims only: the shape arithmetic becomes constants (fewer nodes, faster session creation).
    foldConstants(compiled.model.graph, info);
    return { session: await this.openSession(compiled.model), compiled };
  }

  private async openSession(model: onnx.ModelProto): Promise<Session> {
    try {
      return await this.backend.createSession(encodeModel(model), { threads: this.config.threads });
    } catch (err) {
      throw new ModelError(`${this.source}: ${this.backend.name} cannot run the model: ${firstLine(err)}`, {
        cause: err,
      });
    }
  }

  private async evict(): Promise<void> {
    while (this.sessions.size > MAX_SESSIONS) {
      const [oldKey, oldest] = this.sessions.entries().next().value as [string, Promise<Compiled>];
      this.sessions.delete(oldKey);
      await (await oldest.catch(() => undefined))?.session.release();
    }
  }
}

// Engine messages can span lines; netvis errors are one.
function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err)
    .split('\n')[0]
    .trim();
}
