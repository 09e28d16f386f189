/**
 * @module @bucketml/local-stack
 * The embedded default: the whole pipeline on one machine, with the Pub/Sub emulator, the
 * functions as functions-framework processes, a bucket directory standing in for Cloud Storage and
 * Eventarc, and a local training service standing in for Vertex AI. Used by `npm start`, the
 * tests and the benchmarks.
 */
export {
  startLocalStack,
  LocalStack,
  freePort,
  type LocalStackOptions,
  type LogLine,
  type LocalFunctionName,
} from './stack.js';
export { renderLogLine } from './log-renderer.js';
export { LocalTrainingService } from './training-service.js';
export { TrainerPool, type TrainerRun } from './trainer-pool.js';
export { BucketWatcher } from './bucket-watcher.js';
export { startPubSubEmulator, findPubSubEmulator } from './pubsub-emulator.js';
export { FunctionProcess, type FunctionSpec } from './function-process.js';
export { PageServer, servedObjectName } from './page-server.js';
