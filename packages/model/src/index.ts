export * from './spec.js';
export { BUILTIN_SPECS } from './builtin-specs.js';
export { builtinSpec, specFromDocument, BUILTIN_MODEL_NAMES } from './spec-document.js';
export { FeatureEncoder, featureLayout, bucketIndex, parseNumber, type FeatureLayout, type EncodedRows, type SparseSlot, type ValueReader } from './features.js';
export { readDataset, fileSource, DataError, type DataSource, type Dataset, type DataFileInfo, type BadRow, type ReadOptions } from './dataset.js';
export { computePreprocessing, normalizeDense, type Preprocessing, type DenseStats } from './preprocessing.js';
export { weightSpecs, deepInputSize, elementCount, type WeightSpec } from './architecture.js';
export {
  serializeModel,
  deserializeModel,
  writeModelDir,
  readModelDir,
  ModelFormatError,
  MODEL_FORMAT,
  MODEL_FILE,
  WEIGHTS_FILE,
  type SavedModel,
  type TrainedModel,
  type ModelMetadata,
  type DataLineage,
} from './saved-model.js';
export { Predictor, type Prediction } from './inference.js';
export { Rng } from './rng.js';
export { rmse } from './metrics.js';
