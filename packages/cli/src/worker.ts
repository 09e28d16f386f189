/**
 * @module worker
 * A warm trainer for the local training service (`bucketml-worker`): runs `bucketml train` jobs
 * one after another in one process, so a trial pays neither a process start nor the imports,
 * and a run's data, read and encoded once, is reused by its next trials (the files' sizes and
 * times must match). Each job gets its argv and its environment (AIP_MODEL_DIR,
 * CLOUD_ML_HP_METRIC_FILE, …) as a process would: the same verb, the same contract as on
 * Vertex AI. Protocol: TRAINER_WORKER_EXIT in the contracts.
 */
import { createInterface } from 'node:readline';
import { TRAINER_WORKER_EXIT, type TrainerWorkerJob } from '@bucketml/contracts';
import { reuseTrainingData } from '@bucketml/trainer';
import { main } from './cli.js';

reuseTrainingData(true);
// One ordered stream: what a job writes to stderr comes before its exit marker.
const write = process.stdout.write.bind(process.stdout);
process.stderr.write = write as typeof process.stderr.write;

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line.trim()) continue;
  let job: TrainerWorkerJob;
  try {
    job = JSON.parse(line) as TrainerWorkerJob;
    if (!Array.isArray(job.argv) || typeof job.env !== 'object' || job.env === null)
      throw new Error('a job is {"argv": [...], "env": {...}}');
  } catch (err) {
    // A line that is no job fails as a job would (exit 2, usage), and the worker stays up.
    write(`bucketml-worker: not a job: ${(err as Error).message}\n\n${TRAINER_WORKER_EXIT}2\n`);
    continue;
  }
  const saved = Object.fromEntries(Object.keys(job.env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, job.env);
  let code: number;
  try {
    code = await main(job.argv);
  } catch (err) {
    write(`bucketml-worker: ${(err as Error)?.stack ?? String(err)}\n`);
    code = 1;
  }
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  write(`\n${TRAINER_WORKER_EXIT}${code}\n`);
}
