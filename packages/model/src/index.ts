/**
 * @module @bucketml/model
 * The model without a runtime: specs (built in, from a document, or inferred from the data),
 * feature encoding, CSV datasets, preprocessing, the saved-model format and the lean predictor that
 * serves it. No TensorFlow.js here: training is @bucketml/trainer's.
 */
export * from './spec.js';
export * from './drift.js';
export { BUILTIN_SPECS } from './builtin-specs.js';
export { builtinSpec, specFromDocument, BUILTIN_MODEL_NAMES } from './spec-document.js';
export {
  FeatureEncoder,
  featureLayout,
  bucketIndex,
  parseNumber,
  isMissing,
  type FeatureLayout,
  type EncodedRows,
  type SparseSlot,
  type ValueReader,
} from './features.js';
export {
  csvBatches,
  csvField,
  csvScanner,
  CsvRow,
  CsvSyntaxError,
  MAX_RECORD_BYTES,
  scanCsv,
  type CsvRecord,
} from './csv.js';
export { csvInstances, jsonLineInstances, type InstanceItem } from './instances.js';
export {
  readDataset,
  scanDataset,
  readCsvHeader,
  isHeaderRow,
  csvError,
  fileSource,
  reasonKind,
  DataError,
  type DataSource,
  type Dataset,
  type DatasetSummary,
  type DataFileInfo,
  type BadRow,
  type ReadOptions,
} from './dataset.js';
export {
  computePreprocessing,
  normalizeDense,
  fitLabelTransform,
  encodeLabel,
  decodeLabel,
  type Preprocessing,
  type DenseStats,
  type LabelTransform,
} from './preprocessing.js';
export { parseDate, type DateParts } from './dates.js';
export {
  inferSpec,
  parseInferenceConfig,
  defaultHyperparameters,
  type InferOptions,
} from './infer.js';
export {
  weightSpecs,
  networkWeightSpecs,
  ensembleSize,
  memberPrefix,
  deepInputSize,
  elementCount,
  addClassProbabilities,
  type WeightSpec,
} from './architecture.js';
export {
  serializeModel,
  deserializeModel,
  writeModelDir,
  readModelDir,
  modelMetric,
  ModelFormatError,
  MODEL_FORMAT,
  MODEL_FILE,
  WEIGHTS_FILE,
  type SavedModel,
  type TrainedModel,
  type ModelMetadata,
  type DataLineage,
} from './saved-model.js';
export { Predictor, type Prediction, type AnswerKey } from './inference.js';
export { Rng } from './rng.js';
export { rmse, classificationMetrics, rocAuc, macroF1 } from './metrics.js';
export { heldOutPart, isHeldOut, type HeldOutOptions } from './held-out.js';
