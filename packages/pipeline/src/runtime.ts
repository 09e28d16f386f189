/**
 * @module runtime
 * Builds a stage's context from the environment (the settings in @bucketml/contracts, plus
 * GOOGLE_CLOUD_PROJECT and PUBSUB_EMULATOR_HOST), choosing adapters: the same function code
 * runs on the embedded default and in the cloud.
 */
import { numericSetting, setting } from '@bucketml/contracts';
import type { Messaging, TrainingBackend } from '@bucketml/ports';
import { crashPointsFromEnv, type PipelineContext } from './context.js';
import { createLogger } from './logger.js';
import { RunStore } from './run-store.js';
import { storageFromEnv } from './storage-from-env.js';

async function messagingFromEnv(env: NodeJS.ProcessEnv): Promise<Messaging> {
  const project = env.GOOGLE_CLOUD_PROJECT;
  if (!project) throw new Error('GOOGLE_CLOUD_PROJECT is not set');
  const { PubSubMessaging } = await import('@bucketml/ports/pubsub');
  return new PubSubMessaging(project, numericSetting('BUCKETML_DUPLICATE_PUBLISH', env));
}

async function trainingFromEnv(env: NodeJS.ProcessEnv): Promise<TrainingBackend> {
  const url = setting('BUCKETML_TRAINING_URL', env);
  if (url) {
    const { LocalTrainingClient } = await import('@bucketml/ports/local-training');
    return new LocalTrainingClient(url);
  }
  const { vertexFromEnv } = await import('./vertex-runtime.js');
  return (await vertexFromEnv(env)).backend;
}

let cached: Promise<PipelineContext> | undefined;

/** One context per function instance, created on first use (cold start) and reused. */
export function pipelineFromEnv(component: string, env = process.env): Promise<PipelineContext> {
  cached ??= (async () => {
    const storage = await storageFromEnv(env);
    return {
      storage,
      messaging: await messagingFromEnv(env),
      training: await trainingFromEnv(env),
      log: createLogger(component),
      runs: new RunStore(storage),
      settleMs: numericSetting('BUCKETML_SETTLE_MS', env),
      seed: numericSetting('BUCKETML_SEED', env),
      crashPoint: crashPointsFromEnv(env),
    };
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}
