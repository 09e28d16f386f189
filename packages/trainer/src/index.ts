/**
 * @module @bucketml/trainer
 * The training library: TensorFlow.js loading, the wide & deep network, the training loop,
 * hypertune reporting, and resolving what `bucketml train` is given (a model name or spec file,
 * data files or globs, gs:// paths through the FUSE mount). It knows nothing of the command
 * line (that is @bucketml/cli) and nothing of Google Cloud's client libraries.
 */
export {
  trainModel,
  reuseTrainingData,
  objectiveFor,
  TrainingOptionsError,
  type TrainOptions,
  type TrainResult,
  type TrainProgress,
  type Evaluation,
  type EvaluationReport,
} from './train.js';
export {
  loadTensorFlow,
  loadTrainingEngine,
  type TensorFlow,
  type TrainingEngine,
  type BackendName,
} from './tf-backend.js';
export { WideDeepNetwork } from './network.js';
export { FusedNetwork, type FusedBatch, type HeadLoss } from './fused-network.js';
export { HypertuneReporter, pythonFloatStr } from './hypertune.js';
export { expandDataFiles } from './data-files.js';
export { GCS_FUSE_ROOT, localPathOf } from './gcs-fuse.js';
export { progressPrinter } from './progress.js';
export { resolveSpec } from './resolve-spec.js';
export {
  EventFileWriter,
  TrainingEvents,
  tensorboardLogDir,
  hparamsOf,
  crc32c,
  maskedCrc32c,
  type HParamValue,
  type SessionStatus,
} from './tensorboard.js';
