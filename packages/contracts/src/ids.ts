/**
 * @module ids
 * Run and job ids: one template each, one parser. A run id derives from the drop's data
 * version, so every delivery of one drop names the same run; a job id derives from the run id,
 * so a resubmission finds its job.
 */
import { createHash } from 'node:crypto';

export type JobKind = 'study' | 'final';

const RUN_ID = /^([A-Za-z0-9][A-Za-z0-9_-]{0,62})-([0-9a-f]{12})$/;
const JOB_ID = /^([A-Za-z0-9][A-Za-z0-9_-]{0,62}-[0-9a-f]{12})-(study|final)$/;

/** The data version of a drop: its objects' names and generations, hashed. */
export function dataVersion(objects: { name: string; generation: string }[]): string {
  return createHash('sha256')
    .update(objects.map((o) => `${o.name}@${o.generation}`).join('\n'))
    .digest('hex')
    .slice(0, 12);
}

export function runIdOf(model: string, version: string): string {
  return `${model}-${version}`;
}

export function parseRunId(runId: string): { model: string; version: string } | null {
  const m = RUN_ID.exec(runId);
  return m ? { model: m[1], version: m[2] } : null;
}

export function jobIdOf(runId: string, kind: JobKind): string {
  return `${runId}-${kind}`;
}

export function parseJobId(jobId: string): { runId: string; model: string; kind: JobKind } | null {
  const m = JOB_ID.exec(jobId);
  if (!m) return null;
  return { runId: m[1], model: parseRunId(m[1])!.model, kind: m[2] as JobKind };
}
