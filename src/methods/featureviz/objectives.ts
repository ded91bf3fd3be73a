import type { Classifier } from '../../model/classifier.js';
import { sizeOf, type Tensor } from '../../tensor.js';
import { resolveClasses, type ClassRef } from '../common.js';

/** One weighted part of an objective: a class logit, a channel's mean over a layer, or one neuron. */
export type ObjectiveTerm =
  | { kind: 'class'; class: ClassRef; weight: number }
  | { kind: 'channel'; layer: string; channel: number; weight: number }
  /** `x`, `y`: position in the layer's grid; default its centre (as Lucid's `neuron`). */
  | { kind: 'neuron'; layer: string; channel: number; x?: number; y?: number; weight: number };

/** A linear function of the model's activations to maximise: the weighted sum of its terms. */
export interface Objective {
  terms: ObjectiveTerm[];
}

/** The raw score (logit) of a class. */
export function classLogit(target: ClassRef): Objective {
  return { terms: [{ kind: 'class', class: target, weight: 1 }] };
}

/** The mean over positions of one channel of a layer (module path like `features.9`, or a tensor name). */
export function channelMean(layer: string, channel: number): Objective {
  return { terms: [{ kind: 'channel', layer, channel, weight: 1 }] };
}

/** One neuron: a channel of a layer at grid position (x, y), by default the centre. */
export function neuron(layer: string, channel: number, position?: { x: number; y: number }): Objective {
  return { terms: [{ kind: 'neuron', layer, channel, ...position, weight: 1 }] };
}

/** `k ·` an objective. */
export function scaled(objective: Objective, k: number): Objective {
  return { terms: objective.terms.map((t) => ({ ...t, weight: t.weight * k })) };
}

/** The sum of objectives. */
export function sumOf(...objectives: Objective[]): Objective {
  return { terms: objectives.flatMap((o) => o.terms) };
}

/** `a − b`. */
export function differenceOf(a: Objective, b: Objective): Objective {
  return sumOf(a, scaled(b, -1));
}

/** A short description such as `features.9:12` or `+ tarantula − 0.5·features.12:3 (neuron 6,6)`. */
export function describeObjective(objective: Objective, className: (index: number) => string): string {
  return objective.terms
    .map((t, i) => {
      const what =
        t.kind === 'class'
          ? typeof t.class === 'number'
            ? className(t.class)
            : t.class
          : `${t.layer}:${t.channel}${t.kind === 'neuron' ? ` (neuron${t.x === undefined ? '' : ` ${t.x},${t.y}`})` : ''}`;
      const mag = Math.abs(t.weight);
      const body = mag === 1 ? what : `${mag}·${what}`;
      return i === 0 ? (t.weight < 0 ? `−${body}` : body) : `${t.weight < 0 ? '−' : '+'} ${body}`;
    })
    .join(' ');
}

/** The layers (other than the logits) an objective's terms read. */
export function objectiveLayers(objectives: readonly Objective[]): string[] {
  const layers = new Set<string>();
  for (const o of objectives) for (const t of o.terms) if (t.kind !== 'class') layers.add(t.layer);
  return [...layers];
}

/**
 * Gradient seeds that make `Σ seed ⊙ tensor`, row by row, equal each image's objective: by tensor reference
 * (the logits under `classifier.outputName`), each N×(the tensor's dims). `layerDims` holds each layer's C×H×W.
 */
export function objectiveSeeds(
  classifier: Classifier,
  objectives: readonly Objective[],
  layerDims: ReadonlyMap<string, number[]>,
): Record<string, Tensor> {
  const n = objectives.length;
  const seeds: Record<string, Tensor> = {};
  const seedFor = (ref: string, dims: number[]) =>
    (seeds[ref] ??= { data: new Float32Array(n * sizeOf(dims)), dims: [n, ...dims] });
  objectives.forEach((o, row) => {
    for (const t of o.terms) {
      if (t.kind === 'class') {
        const [index] = resolveClasses(classifier, [t.class]);
        const seed = seedFor(classifier.outputName, [classifier.numClasses]);
        seed.data[row * classifier.numClasses + index] += t.weight;
        continue;
      }
      const dims = layerDims.get(t.layer);
      if (!dims || dims.length !== 3)
        throw new Error(`objective: layer '${t.layer}' has dims [${dims}], expected C×H×W`);
      const [c, h, w] = dims;
      if (!Number.isInteger(t.channel) || t.channel < 0 || t.channel >= c)
        throw new RangeError(
          `objective: channel ${t.channel} of '${t.layer}' is out of range (0 to ${c - 1})`,
        );
      const seed = seedFor(t.layer, dims);
      const base = row * c * h * w + t.channel * h * w;
      if (t.kind === 'channel') {
        for (let i = 0; i < h * w; i++) seed.data[base + i] += t.weight / (h * w);
      } else {
        const x = t.x ?? Math.floor(w / 2);
        const y = t.y ?? Math.floor(h / 2);
        if (!(Number.isInteger(x) && Number.isInteger(y) && x >= 0 && x < w && y >= 0 && y < h))
          throw new RangeError(`objective: neuron (${x}, ${y}) is outside '${t.layer}' (${w}×${h})`);
        seed.data[base + y * w + x] += t.weight;
      }
    }
  });
  return seeds;
}

/** Each row's `Σ seed ⊙ value` over the seeded tensors: the objectives' values for a batch. */
export function objectiveValues(seeds: Record<string, Tensor>, values: Record<string, Tensor>): number[] {
  const refs = Object.keys(seeds);
  const n = seeds[refs[0]].dims[0];
  return Array.from({ length: n }, (_, row) => {
    let total = 0;
    for (const ref of refs) {
      const s = seeds[ref].data;
      const v = values[ref].data;
      const per = s.length / n;
      for (let i = row * per; i < (row + 1) * per; i++) total += s[i] * v[i];
    }
    return total;
  });
}
