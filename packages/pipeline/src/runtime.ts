import type { Messaging, Storage, TrainingBackend } from '@bucketml/ports';
import { crashPointsFromEnv, type PipelineContext } from './context.js';
import { createLogger } from './logger.js';
import { RunStore } from './run-store.js';
import { storageFromEnv } from './storage-from-env.js';

/**
 * Builds a stage's context from environment variables, choosing adapters: the same function
 * code runs on the embedded default and in the cloud.
 *   BUCKETML_BUCKET        a directory (embedded default) or gs://bucket
 *   BUCKETML_TRAINING_URL  the local training service; unset → Vertex AI, configured by
 *   BUCKETML_REGION, BUCKETML_TRAINER_IMAGE, BUCKETML_TRAINER_SERVICE_ACCOUNT,
 *   BUCKETML_MACHINE_TYPE (the bucket must then be gs://)
 *   GOOGLE_CLOUD_PROJECT   Pub/Sub project (PUBSUB_EMULATOR_HOST selects the emulator)
 *   BUCKETML_SETTLE_MS     quiet time before a drop becomes a run (default 3000)
 */
async function messagingFromEnv(env: NodeJS.ProcessEnv): Promise<Messaging> {
  const project = env.GOOGLE_CLOUD_PROJECT;
  if (!project) throw new Error('GOOGLE_CLOUD_PROJECT is not set');
  const { PubSubMessaging } = await import('@bucketml/ports/pubsub');
  return new PubSubMessaging(project, Number(env.BUCKETML_DUPLICATE_PUBLISH ?? 1));
}

async function trainingFromEnv(env: NodeJS.ProcessEnv): Promise<TrainingBackend> {
  const url = env.BUCKETML_TRAINING_URL;
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
      settleMs: Number(env.BUCKETML_SETTLE_MS ?? 3000),
      seed: Number(env.BUCKETML_SEED ?? 42),
      crashPoint: crashPointsFromEnv(env),
    };
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}
