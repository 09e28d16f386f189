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
export { BucketWatcher } from './bucket-watcher.js';
export { startPubSubEmulator, findPubSubEmulator } from './pubsub-emulator.js';
export { FunctionProcess, type FunctionSpec } from './function-process.js';
