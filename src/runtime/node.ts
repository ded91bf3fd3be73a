import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Backend } from './backend.js';
import { ortBackend } from './ort.js';

/** The onnxruntime-node backend (CPU); sessions use all cores unless told otherwise. */
export const nodeBackend: Backend = ortBackend('onnxruntime-node', ort, (o) => ({
  intraOpNumThreads: o.threads ?? availableParallelism(),
  interOpNumThreads: 1,
  // 'all' adds MLAS's NCHWc convolutions: 14 % less CPU for SqueezeNet's logits + input gradient at N=8. It rounds
  // differently from 'extended', which the fidelity tests (against float64, as PyTorch float32's own error) allow.
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  // Pool threads that spin after a run take a core from the JavaScript between runs (an attack's or a
  // visualization's step) and from other processes: without spinning, SqueezeNet's N=8 gradient took 34 % less CPU
  // and 37 % less wall time on a loaded 2-core machine.
  extra: { session: { intra_op: { allow_spinning: '0' } } },
  // ONNX Runtime's own log lines (warnings, errors) would add to netvis's one-line messages, which carry its reason.
  logSeverityLevel: 4,
}));
