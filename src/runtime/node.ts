import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Backend } from './backend.js';
import { ortBackend } from './ort.js';

/** The onnxruntime-node backend (CPU); sessions use all cores unless told otherwise. */
export const nodeBackend: Backend = ortBackend('onnxruntime-node', ort, (o) => ({
  intraOpNumThreads: o.threads ?? availableParallelism(),
  interOpNumThreads: 1,
  graphOptimizationLevel: (process.env.NV_OPT as 'all') ?? 'all',
  executionMode: 'sequential',
}));
