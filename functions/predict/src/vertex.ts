/**
 * @module vertex
 * The predict server as a Vertex AI custom container (`node dist/vertex.js`, or
 * `npm run start:vertex`): the same image serves one deployed model from a Vertex endpoint.
 * `bucketml deploy --dry-run --vertex-endpoint` prints how to build, upload and deploy it.
 */
import { startVertexServer, vertexServingConfig } from '@bucketml/pipeline/vertex-serving';

const log = (severity: string, message: string) =>
  console.log(JSON.stringify({ severity, message, stage: 'predict' }));

const config = vertexServingConfig();
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const server = await startVertexServer(config, {
  onLoadError: (err) => log('ERROR', message(err)),
  onRequestError: (err) => log('ERROR', `a request failed: ${message(err)}`),
});
log(
  'INFO',
  `serving ${config.storageUri} on port ${server.port} (health ${config.healthRoute}, predict ${config.predictRoute})`,
);
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.once(signal, () => void server.close().then(() => process.exit(0)));
