import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Backend } from './backend.js';
import { ortBackend } from './ort.js';

/** The onnxruntime-node backend (CPU); sessions use all cores unless told otherwise. */
export const nodeBackend: Backend = ortBackend('onnxruntime-node', ort, (o) => ({
  intraOpNumThreads: o.threads ?? availableParallelism(),
  interOpNumThreads: 1,
  // 'extended' keeps MLAS's plain convolutions. 'all' adds NCHWc layouts, which was 15 % faster for one
  // image's gradient here but rounds differently: more MaxPool near-ties then flip against PyTorch (saliency
  // within 1e-3 of PyTorch on 19 of the 25 reference images instead of 20), and at N=8 it was no faster.
  graphOptimizationLevel: 'extended',
  executionMode: 'sequential',
  // ONNX Runtime's own log lines (warnings, errors) would add to netvis's one-line messages, which carry its reason.
  logSeverityLevel: 4,
}));
