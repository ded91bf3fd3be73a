import { compileGradient, type CompiledGradient } from '../autodiff/compile.js';
import type { ReluRule, TensorInfo } from '../autodiff/types.js';
import type { Preprocessing } from '../image/types.js';
import { modelDownstreamOf } from '../onnx/downstream.js';
import { GraphView } from '../onnx/graph.js';
import { encodeModel, ModelError, type onnx } from '../onnx/proto.js';
import type { Backend, RuntimeTensor, Session } from '../runtime/backend.js';
import { probeTensorInfo } from '../runtime/probe.js';
import type { Tensor } from '../tensor.js';
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
}

/** A gradient to compute along with the forward pass. */
export interface GradientRequest {
  /** Seeds by tensor (name or layer path): the objective is Σ tensor ⊙ seed. Default key: the logits output. */
  seeds: Record<string, Tensor>;
  /** Tensors (names or layer paths) to differentiate with respect to; default: the input image. */
  wrt?: string[];
  /** Inner tensors (names or layer paths) whose forward values to return too. */
  expose?: string[];
  /** Backward rule for ReLU; default `standard`. */
  relu?: ReluRule;
}

/** Forward outputs (logits and exposed tensors, by the names asked for) and gradients (by wrt name). */
export interface GradientResult {
  outputs: Record<string, Tensor>;
  grads: Record<string, Tensor>;
}

interface Compiled {
  session: Session;
  compiled: CompiledGradient;
}

// Compiled sessions kept per classifier; older ones are released (keeps memory bounded when shapes vary).
const MAX_SESSIONS = 6;

const f32 = (t: Tensor): RuntimeTensor => ({ type: 'float32', dims: t.dims, data: t.data });
const fromRuntime = (t: RuntimeTensor): Tensor => ({ data: t.data as Float32Array, dims: t.dims });

/** An ONNX image classifier with labels, preprocessing, and gradients compiled into its graph on demand. */
export class Classifier {
  readonly inputName: string;
  readonly outputName: string;
  readonly labels: ClassLabels;
  readonly preprocessing: Preprocessing;
  private readonly view: GraphView;
  private readonly sessions = new Map<string, Promise<Compiled>>();
  private readonly probes = new Map<string, Promise<Map<string, TensorInfo>>>();
  private forwardSession?: Promise<Session>;
  private readonly downstreamSessions = new Map<string, Promise<Session>>();

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
  }

  /** Number of classes (the logits' width). */
  get numClasses(): number {
    return this.labels.size;
  }

  /** The tensor name for a layer given by module path (`features.12`) or already a tensor name. */
  tensorFor(ref: string): string {
    if (this.view.producer.has(ref) || ref === this.inputName) return ref;
    const node = this.view.nodeForLayer(ref);
    if (!node) throw new ModelError(`${this.source}: no layer or tensor named '${ref}'`);
    return node.output[0];
  }

  /** Raw class scores N×classes for a normalised N×C×H×W batch. */
  async logits(x: Tensor): Promise<Tensor> {
    this.forwardSession ??= this.openSession(this.model);
    const session = await this.forwardSession;
    const out = await session.run({ [this.inputName]: f32(x) }, [this.outputName]);
    return fromRuntime(out[this.outputName]);
  }

  /**
   * Raw class scores N×classes from a layer's values (`values`: N×… as the layer, given by module path or tensor name,
   * produces them), running only the part of the graph after the layer (`modelDownstreamOf`; one session per layer,
   * kept until `dispose`). For methods that change a layer's activations and ask what the rest of the model makes of
   * them (Ablation-CAM). Throws a ModelError when the graph after the layer also reads the input by another path.
   */
  async logitsFrom(layer: string, values: Tensor): Promise<Tensor> {
    const tensor = this.tensorFor(layer);
    let session = this.downstreamSessions.get(tensor);
    if (!session) {
      session = (async () => {
        let model: onnx.ModelProto;
        try {
          model = modelDownstreamOf(this.model, tensor);
        } catch (err) {
          throw new ModelError(`${this.source}: ${(err as Error).message}`);
        }
        return this.openSession(model);
      })();
      session.catch(() => this.downstreamSessions.delete(tensor));
      this.downstreamSessions.set(tensor, session);
    }
    const out = await (await session).run({ [tensor]: f32(values) }, [this.outputName]);
    return fromRuntime(out[this.outputName]);
  }

  /** Logits and input gradient of Σ logits ⊙ dlogits (N×classes) for a batch; `relu` picks the ReLU backward rule. */
  async inputGradient(
    x: Tensor,
    dlogits: Tensor,
    relu?: ReluRule,
  ): Promise<{ logits: Tensor; grad: Tensor }> {
    const r = await this.gradients(x, { seeds: { [this.outputName]: dlogits }, relu });
    return { logits: r.outputs[this.outputName], grad: r.grads[this.inputName] };
  }

  /** Runs the forward pass and the compiled backward pass for a request (compiled once per request shape). */
  async gradients(x: Tensor, request: GradientRequest): Promise<GradientResult> {
    const seedRefs = Object.keys(request.seeds);
    const seeds = seedRefs.map((r) => this.tensorFor(r));
    const wrtRefs = request.wrt ?? [this.inputName];
    const wrt = wrtRefs.map((r) => this.tensorFor(r));
    const exposeRefs = request.expose ?? [];
    const expose = exposeRefs.map((r) => this.tensorFor(r));
    const key = JSON.stringify({ seeds, wrt, expose, relu: request.relu ?? 'standard', dims: x.dims });
    let entry = this.sessions.get(key);
    if (!entry) {
      entry = this.compile(x.dims, { seeds, wrt, expose, relu: request.relu });
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
    seeds.forEach((s, i) => (feeds[compiled.seedInputs[s]] = f32(request.seeds[seedRefs[i]])));
    const wanted = [this.outputName, ...expose, ...wrt.map((w) => compiled.gradOutputs[w])];
    const out = await session.run(feeds, [...new Set(wanted)]);
    const outputs: Record<string, Tensor> = { [this.outputName]: fromRuntime(out[this.outputName]) };
    exposeRefs.forEach((r, i) => (outputs[r] = fromRuntime(out[expose[i]])));
    const grads: Record<string, Tensor> = {};
    wrtRefs.forEach((r, i) => (grads[r] = fromRuntime(out[compiled.gradOutputs[wrt[i]]])));
    return { outputs, grads };
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
    for (const s of downstream) await (await s.catch(() => undefined))?.release();
  }

  private async compile(dims: number[], spec: Parameters<typeof compileGradient>[1]): Promise<Compiled> {
    const probeKey = dims.join('x');
    let probe = this.probes.get(probeKey);
    if (!probe) {
      const zeros: RuntimeTensor = {
        type: 'float32',
        dims,
        data: new Float32Array(dims.reduce((a, b) => a * b, 1)),
      };
      probe = probeTensorInfo(this.backend, this.model, { [this.inputName]: zeros }).catch((err: Error) => {
        this.probes.delete(probeKey);
        throw err instanceof ModelError
          ? err
          : new ModelError(`${this.source}: ${this.backend.name} cannot run the model: ${err.message}`);
      });
      this.probes.set(probeKey, probe);
    }
    const compiled = compileGradient(this.model, spec, await probe);
    return { session: await this.openSession(compiled.model), compiled };
  }

  private async openSession(model: onnx.ModelProto): Promise<Session> {
    try {
      return await this.backend.createSession(encodeModel(model), { threads: this.config.threads });
    } catch (err) {
      throw new ModelError(
        `${this.source}: ${this.backend.name} cannot run the model: ${(err as Error).message}`,
      );
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
