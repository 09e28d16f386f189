import type { VertexJobService, VertexTrainingBackend } from '@bucketml/ports/vertex-training';

/** The Vertex AI backend and its job client from the environment (see runtime.ts). */
export async function vertexFromEnv(env: NodeJS.ProcessEnv): Promise<{ backend: VertexTrainingBackend; jobs: VertexJobService; project: string; region: string }> {
  const missing = ['GOOGLE_CLOUD_PROJECT', 'BUCKETML_REGION', 'BUCKETML_TRAINER_IMAGE'].filter((k) => !env[k]);
  if (missing.length) throw new Error(`the Vertex AI backend needs ${missing.join(', ')} (or BUCKETML_TRAINING_URL for the local one)`);
  if (!env.BUCKETML_BUCKET?.startsWith('gs://')) throw new Error('the Vertex AI backend needs BUCKETML_BUCKET=gs://<bucket>');
  const project = env.GOOGLE_CLOUD_PROJECT!;
  const region = env.BUCKETML_REGION!;
  const { VertexTrainingBackend, vertexJobService } = await import('@bucketml/ports/vertex-training');
  const jobs = await vertexJobService(region);
  const backend = new VertexTrainingBackend(
    {
      project,
      region,
      bucket: env.BUCKETML_BUCKET.slice('gs://'.length).replace(/\/$/, ''),
      imageUri: env.BUCKETML_TRAINER_IMAGE!,
      machineType: env.BUCKETML_MACHINE_TYPE,
      serviceAccount: env.BUCKETML_TRAINER_SERVICE_ACCOUNT,
    },
    jobs,
  );
  return { backend, jobs, project, region };
}
