export { trainModel, type TrainOptions, type TrainResult, type TrainProgress, type Evaluation } from './train.js';
export { loadTensorFlow, type TensorFlow, type BackendName } from './tf-backend.js';
export { WideDeepNetwork } from './network.js';
export { HypertuneReporter, pythonFloatStr } from './hypertune.js';
