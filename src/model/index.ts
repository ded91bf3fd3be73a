export * from './classifier.js';
export * from './labels.js';
export * from './find.js';
export * from './load.js';
export * from './import.js';
export * from './open.js';
export {
  addModel,
  removeModel,
  listModels,
  cachedModelFor,
  type AddOptions,
  type ListedModel,
} from './cache.js';
export { DownloadError } from './download.js';
