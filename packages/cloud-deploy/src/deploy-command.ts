import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FUNCTIONS } from '@bucketml/contracts';
import { deployPlan, type Step } from './plan.js';
import { stageFunction } from './stage-functions.js';

const DEPLOY_USAGE = `usage: bucketml deploy --project P --region R --bucket B [--public] [--image URI] [--dry-run]

Stands BucketML up on Google Cloud with gcloud: APIs, bucket, topics, push subscriptions with
dead-letter topics, one service account per function, the functions (gen2, nodejs20), the
Vertex AI log sink. Every step is safe to repeat; nothing is deleted.

  --project    Google Cloud project id
  --region     region of the functions and Vertex AI jobs, e.g. us-central1
  --bucket     bucket name (created if absent); drop CSVs into gs://B/data/<model>/
  --public     let anyone call predict (default: callers need an identity token)
  --image      trainer image (default: <region>-docker.pkg.dev/<project>/bucketml/trainer:latest)
  --dry-run    print the ordered gcloud commands as a script, run nothing
`;

export class DeployUsageError extends Error {
  override name = 'DeployUsageError';
}

/** Prints the plan as a bash script: exactly what a real deploy would run, in order. */
export function formatPlan(steps: Step[]): string {
  const lines = ['#!/usr/bin/env bash', '# bucketml deploy --dry-run: every step is idempotent; nothing is deleted.', 'set -euo pipefail', ''];
  steps.forEach((s, i) => lines.push(`# ${i + 1}/${steps.length}: ${s.title}`, s.command, ''));
  return lines.join('\n');
}

export async function deployCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      project: { type: 'string' },
      region: { type: 'string' },
      bucket: { type: 'string' },
      image: { type: 'string' },
      public: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(DEPLOY_USAGE);
    return 0;
  }
  const missing = (['project', 'region', 'bucket'] as const).filter((k) => !values[k]);
  if (missing.length) throw new DeployUsageError(`${missing.map((m) => `--${m}`).join(', ')} required\n\n${DEPLOY_USAGE}`);
  if (!/^[a-z][a-z0-9-]*$/.test(values.project!)) throw new DeployUsageError(`--project ${values.project}: not a project id`);
  if (!/^[a-z]+-[a-z]+\d+$/.test(values.region!)) throw new DeployUsageError(`--region ${values.region}: not a region, e.g. us-central1`);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(values.bucket!)) throw new DeployUsageError(`--bucket ${values.bucket}: not a bucket name (no gs://)`);
  const steps = deployPlan({ project: values.project!, region: values.region!, bucket: values.bucket!, public: values.public, image: values.image });
  if (values['dry-run']) {
    process.stdout.write(formatPlan(steps));
    return 0;
  }
  for (const [i, step] of steps.entries()) {
    process.stderr.write(`[${i + 1}/${steps.length}] ${step.title}\n`);
    const r = spawnSync('bash', ['-c', `set -euo pipefail; ${step.command}`], { stdio: 'inherit' });
    if (r.status !== 0) {
      process.stderr.write(`\nbucketml deploy: step ${i + 1} failed (${step.title}).\nFix the cause and run the same command again: every step is safe to repeat.\n`);
      return 1;
    }
  }
  process.stderr.write('BucketML is deployed. Drop CSVs into gs://' + values.bucket + '/data/<model>/.\n');
  return 0;
}

/** The repository this package was built in: its functions/ are what gets staged. */
const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export async function stageFunctionsCommand(argv: string[], root = REPO_ROOT): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string', default: '.bucketml/functions' } }, strict: true });
  for (const fn of FUNCTIONS) {
    const dir = await stageFunction(root, fn.name, values.out!);
    process.stderr.write(`staged ${fn.name} → ${dir}\n`);
  }
  return 0;
}
