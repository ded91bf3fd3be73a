// Objective heads: losses on the logits compiled into the graph, each emitting its per-row value and, in closed
// form, its gradient with respect to the logits, so that an attack step is one graph run.
import { ModelError } from '../onnx/proto.js';
import type { GraphBuilder } from './builder.js';
import type { ObjectiveHead } from './types.js';

/** Graph tensors a head reads: the N×K logits and per-row int64 classes (N), labels (N, DLR targeted only) and weights (N). */
export interface HeadInputs {
  logits: string;
  classes: string;
  labels?: string;
  weights: string;
  /** N and K, the logits' dims. */
  dims: [number, number];
}

/** What a head adds: its per-row loss (N) and the gradient of Σ weights ⊙ loss with respect to the logits (N×K). */
export interface HeadOutputs {
  loss: string;
  dlogits: string;
}

/** Whether a head needs per-row true labels besides its classes. */
export function headNeedsLabels(head: ObjectiveHead): boolean {
  return head.kind === 'dlr' && head.targeted;
}

/** Emits a head's forward and closed-form backward nodes. Throws a ModelError when K is too small for the head. */
export function emitHead(b: GraphBuilder, head: ObjectiveHead, io: HeadInputs): HeadOutputs {
  const h = new HeadGraph(b, io);
  switch (head.kind) {
    case 'cross-entropy':
    case 'log-softmax': {
      // CE(z, c) = −log softmax(z)_c; ∂/∂z = softmax(z) − e_c. The log-softmax head is its negation.
      const sign = head.kind === 'cross-entropy' ? -1 : 1;
      const ls = b.op1('LogSoftmax', [io.logits], { axis: { i: 1 } });
      const picked = b.op1('GatherElements', [ls, h.c], { axis: { i: 1 } });
      const w = sign === -1 ? h.w : h.neg(h.w);
      return {
        loss: h.rows(sign === -1 ? h.neg(picked) : picked),
        dlogits: h.scatter(b.op1('Mul', [b.op1('Exp', [ls]), w]), [h.c], [h.neg(w)]),
      };
    }
    case 'cw-margin': {
      // Carlini & Wagner's f6: untargeted max(z_c − max_{j≠c} z_j, −κ), targeted max(max_{j≠c} z_j − z_c, −κ);
      // the gradient flows where the margin is above its floor.
      const kappa = head.kappa ?? 0;
      if (!(kappa >= 0 && Number.isFinite(kappa)))
        throw new ModelError(`objective head cw-margin: kappa ${kappa}, expected a number ≥ 0`);
      const { value: zo, index: io_ } = h.maxOther();
      const zc = h.at(h.c);
      const f = head.targeted ? b.op1('Sub', [zo, zc]) : b.op1('Sub', [zc, zo]);
      const floor = b.constFloat([0 - kappa], []);
      const wa = b.op1('Where', [b.op1('Greater', [f, floor]), h.w, b.constFloat([0], [])]);
      const [up, down] = head.targeted ? [io_, h.c] : [h.c, io_];
      return {
        loss: h.rows(b.op1('Max', [f, floor])),
        dlogits: h.scatter(h.zeros(), [up, down], [wa, h.neg(wa)]),
      };
    }
    case 'dlr': {
      // Croce & Hein (2020), as AutoAttack computes it (π sorts the logits in decreasing order):
      // untargeted −(z_c − max_{j≠c} z_j) / (z_π1 − z_π3 + 1e-12);
      // targeted (classes t, labels y) −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e-12).
      const top = head.targeted ? 4 : 3;
      if (io.dims[1] < top)
        throw new ModelError(
          `objective head dlr${head.targeted ? ' (targeted)' : ''} needs at least ${top} classes, the logits have ${io.dims[1]}`,
        );
      const [values, indices] = b.op('TopK', [io.logits, b.constInt64([top])], { axis: { i: 1 } }, 2);
      const col = (t: string, j: number) =>
        b.op1('Slice', [t, b.constInt64([j]), b.constInt64([j + 1]), b.constInt64([1])]);
      let num: string;
      let plus: string;
      let minus: string;
      let den: string;
      if (head.targeted) {
        plus = h.c;
        minus = h.labelColumn();
        num = b.op1('Sub', [h.at(minus), h.at(plus)]);
        const tail = b.op1('Mul', [b.op1('Add', [col(values, 2), col(values, 3)]), b.constFloat([0.5], [])]);
        den = b.op1('Sub', [col(values, 0), tail]);
      } else {
        const other = h.maxOther();
        plus = other.index;
        minus = h.c;
        num = b.op1('Sub', [h.at(minus), other.value]);
        den = b.op1('Sub', [col(values, 0), col(values, 2)]);
      }
      den = b.op1('Add', [den, b.constFloat([1e-12], [])]);
      const ratio = b.op1('Div', [num, den]);
      // ∂(−num/den): −1/den on the minuend's logit, +1/den on the subtrahend's, num/den² through den.
      const r = b.op1('Div', [h.w, den]);
      const q = b.op1('Mul', [r, ratio]);
      const idx = [minus, plus, col(indices, 0), col(indices, 2)];
      const coef = [h.neg(r), r, q];
      if (head.targeted) {
        const half = b.op1('Mul', [q, b.constFloat([-0.5], [])]);
        idx.push(col(indices, 3));
        coef.push(half, half);
      } else coef.push(h.neg(q));
      return { loss: h.rows(h.neg(ratio)), dlogits: h.scatter(h.zeros(), idx, coef) };
    }
  }
}

// Helpers over one head's inputs: per-row columns are N×1, so they broadcast against the N×K logits.
class HeadGraph {
  /** Classes and weights as N×1 columns. */
  readonly c: string;
  readonly w: string;

  constructor(
    private readonly b: GraphBuilder,
    private readonly io: HeadInputs,
  ) {
    this.c = this.column(io.classes);
    this.w = this.column(io.weights);
  }

  column(t: string): string {
    return this.b.op1('Unsqueeze', [t, this.b.constInt64([1])]);
  }

  labelColumn(): string {
    if (!this.io.labels) throw new ModelError('objective head dlr (targeted) needs labels');
    return this.column(this.io.labels);
  }

  neg(t: string): string {
    return this.b.op1('Neg', [t]);
  }

  /** The logit at each row's index (N×1 int64), as N×1. */
  at(index: string): string {
    return this.b.op1('GatherElements', [this.io.logits, index], { axis: { i: 1 } });
  }

  /** The largest logit other than each row's class, and its index (the first on ties), as N×1 columns. */
  maxOther(): { value: string; index: string } {
    const { b } = this;
    const k = this.io.dims[1];
    const range = b.constInt64(
      Array.from({ length: k }, (_, j) => j),
      [1, k],
    );
    const masked = b.op1('Where', [
      b.op1('Equal', [this.c, range]),
      b.constFloat([-Infinity], []),
      this.io.logits,
    ]);
    // The value is gathered at ArgMax's index rather than taken by ReduceMax, whose axes moved from an attribute to
    // an input at opset 18: these nodes must be valid at every opset from GRADIENT_OPSET to NEWEST_OPSET.
    const index = b.op1('ArgMax', [masked], { axis: { i: 1 }, keepdims: { i: 1 } });
    return { value: b.op1('GatherElements', [masked, index], { axis: { i: 1 } }), index };
  }

  zeros(): string {
    return this.b.zeros(this.io.dims);
  }

  /** `base` plus each coefficient column added at its index column (repeated indices add up). */
  scatter(base: string, indices: string[], coefs: string[]): string {
    const { b } = this;
    const cat = (ts: string[]) => (ts.length === 1 ? ts[0] : b.op1('Concat', ts, { axis: { i: 1 } }));
    return b.op1('ScatterElements', [base, cat(indices), cat(coefs)], {
      axis: { i: 1 },
      reduction: { s: 'add' },
    });
  }

  /** An N×1 column as a vector of N. */
  rows(t: string): string {
    return this.b.op1('Reshape', [t, this.b.constInt64([-1])]);
  }
}
