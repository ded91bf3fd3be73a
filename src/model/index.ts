export * from './classifier.js';
export * from './labels.js';
export * from './find.js';
export * from './load.js';
