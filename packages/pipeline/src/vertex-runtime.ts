/**
 * @module vertex-runtime
 * The Vertex AI backend and its job client from the environment (see runtime.ts).
 */
import { parseGsUri, setting } from '@bucketml/contracts';
import type { VertexJobService, VertexTrainingBackend } from '@bucketml/ports/vertex-training';

export async function vertexFromEnv(env: NodeJS.ProcessEnv): Promise<{
  backend: VertexTrainingBackend;
  jobs: VertexJobService;
  project: string;
  region: string;
}> {
  const region = setting('BUCKETML_REGION', env);
  const imageUri = setting('BUCKETML_TRAINER_IMAGE', env);
  const project = env.GOOGLE_CLOUD_PROJECT;
  const missing = [
    !project && 'GOOGLE_CLOUD_PROJECT',
    !region && 'BUCKETML_REGION',
    !imageUri && 'BUCKETML_TRAINER_IMAGE',
  ].filter(Boolean);
  if (!project || !region || !imageUri)
    throw new Error(
      `the Vertex AI backend needs ${missing.join(', ')} (or BUCKETML_TRAINING_URL for the local one)`,
    );
  const bucket = parseGsUri(`${setting('BUCKETML_BUCKET', env) ?? ''}/`)?.bucket;
  if (!bucket) throw new Error('the Vertex AI backend needs BUCKETML_BUCKET=gs://<bucket>');
  const { VertexTrainingBackend, vertexJobService } =
    await import('@bucketml/ports/vertex-training');
  const jobs = await vertexJobService(region);
  const backend = new VertexTrainingBackend(
    {
      project,
      region,
      bucket,
      imageUri,
      machineType: setting('BUCKETML_MACHINE_TYPE', env),
      serviceAccount: setting('BUCKETML_TRAINER_SERVICE_ACCOUNT', env),
    },
    jobs,
  );
  return { backend, jobs, project, region };
}
