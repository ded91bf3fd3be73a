export * from './proto.js';
export * from './attributes.js';
export * from './tensor-proto.js';
export * from './graph.js';
export * from './shape-inference.js';
export * from './fold.js';
