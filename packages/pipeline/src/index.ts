/**
 * @module @bucketml/pipeline
 * The pipeline's stages, written against the ports; functions adapt their triggers to these.
 */
export { onObjectFinalized } from './data-upload.js';
export { onBatchInput, type BatchPredictionSummary } from './batch-predict.js';
export { validateDrop, type DataReport } from './data-report.js';
export { onJobEvent } from './job-completed.js';
export { onModelCandidate } from './deploy.js';
export { deliverPubSub } from './pubsub-delivery.js';
export { pipelineFromEnv } from './runtime.js';
export { createLogger, type Logger, type Severity, type StepFields } from './logger.js';
export { RunStore } from './run-store.js';
export { refreshRunPage } from './run-page.js';
export type { PipelineContext } from './context.js';
