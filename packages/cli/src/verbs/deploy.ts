/**
 * @module verbs/deploy
 * `bucketml deploy`: stands BucketML up on Google Cloud by running the ordered, idempotent
 * gcloud plan of cloud/plan.ts step by step (`--dry-run` prints it as a script). It drives the
 * gcloud CLI and loads no Google Cloud client library.
 */
import { spawnSync } from 'node:child_process';
import { isModelName, parseRunId } from '@bucketml/contracts';
import { deployPlan, formatPlan, vertexEndpointPlan } from '../cloud/plan.js';
import { UsageError } from '../flags.js';
import { defineVerb } from '../verb.js';

export const deploy = defineVerb({
  name: 'deploy',
  summary: 'stand BucketML up on Google Cloud (--dry-run prints the gcloud plan)',
  description: `Stands BucketML up on Google Cloud with gcloud: APIs, bucket, topics, push subscriptions with
dead-letter topics, one service account per function, the functions (gen2, nodejs20), the
Vertex AI log sink. Every step is safe to repeat; nothing is deleted.
With --vertex-endpoint MODEL, instead: serves MODEL's deployed version (or --version) from a
Vertex AI endpoint, with the predict server's custom-container image.`,
  flags: [
    { name: 'project', type: 'string', required: true, help: 'Google Cloud project id' },
    {
      name: 'region',
      type: 'string',
      required: true,
      help: 'region of the functions and Vertex AI jobs, e.g. us-central1',
    },
    {
      name: 'bucket',
      type: 'string',
      required: true,
      help: 'bucket name (created if absent); drop CSVs into gs://<bucket>/data/<model>/',
    },
    {
      name: 'image',
      type: 'string',
      help: 'trainer image (default: <region>-docker.pkg.dev/<project>/bucketml/trainer:latest)',
    },
    {
      name: 'public',
      type: 'boolean',
      help: 'let anyone call predict; otherwise callers need an identity token',
    },
    {
      name: 'vertex-endpoint',
      type: 'string',
      help: 'serve this model from a Vertex AI endpoint (the custom-container image) instead (default: stand the pipeline up)',
    },
    {
      name: 'version',
      type: 'string',
      help: 'with --vertex-endpoint: the version to serve (default: the one serving.json names)',
    },
    {
      name: 'dry-run',
      type: 'boolean',
      help: 'print the ordered gcloud commands as a script, run nothing',
    },
  ],
  async run(flags) {
    if (!/^[a-z][a-z0-9-]*$/.test(flags.project))
      throw new UsageError(`--project must be a project id (got ${JSON.stringify(flags.project)})`);
    if (!/^[a-z]+-[a-z]+\d+$/.test(flags.region))
      throw new UsageError(
        `--region must be a region, e.g. us-central1 (got ${JSON.stringify(flags.region)})`,
      );
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(flags.bucket))
      throw new UsageError(
        `--bucket must be a bucket name, not a gs:// URI (got ${JSON.stringify(flags.bucket)})`,
      );
    const model = flags['vertex-endpoint'];
    if (model !== undefined && !isModelName(model))
      throw new UsageError(`--vertex-endpoint must be a model name (got ${JSON.stringify(model)})`);
    if (flags.version !== undefined && model === undefined)
      throw new UsageError('--version goes with --vertex-endpoint');
    if (flags.version !== undefined) {
      const version = parseRunId(flags.version);
      if (!version)
        throw new UsageError(
          `--version must be a run id, <model>-<12 hex> (got ${JSON.stringify(flags.version)})`,
        );
      // A version of another model would upload that model under this one's endpoint.
      if (version.model !== model)
        throw new UsageError(
          `--version ${flags.version} is a version of ${version.model}, not of ${model}`,
        );
    }
    const steps =
      model !== undefined
        ? vertexEndpointPlan({
            project: flags.project,
            region: flags.region,
            bucket: flags.bucket,
            model,
            version: flags.version,
          })
        : deployPlan({
            project: flags.project,
            region: flags.region,
            bucket: flags.bucket,
            public: flags.public,
            image: flags.image,
          });
    if (flags['dry-run']) {
      process.stdout.write(formatPlan(steps));
      return 0;
    }
    for (const [i, step] of steps.entries()) {
      process.stderr.write(`[${i + 1}/${steps.length}] ${step.title}\n`);
      const r = spawnSync('bash', ['-c', `set -euo pipefail; ${step.command}`], {
        stdio: 'inherit',
      });
      if (r.status !== 0) {
        process.stderr.write(
          `\nbucketml deploy: step ${i + 1} failed (${step.title}).\nFix the cause and run the same command again: every step is safe to repeat.\n`,
        );
        return 1;
      }
    }
    process.stderr.write(
      `BucketML is deployed. Drop CSVs into gs://${flags.bucket}/data/<model>/.\n`,
    );
    return 0;
  },
});
