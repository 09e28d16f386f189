/**
 * @module vertex-events
 * Vertex AI publishes no job-completion message, so a Cloud Logging sink routes the service's
 * job log entries to a topic and this turns them into the job events the local backend
 * publishes (trial.completed for each trial, then study.completed; training.completed).
 *
 * The log entry only says which job to look at: its state is read from the job itself, so a
 * broad sink filter or a duplicate entry costs an API call, never a wrong event. Jobs without
 * BucketML's labels and jobs not yet finished are ignored (the sink's filter: VERTEX_LOG_FILTER). Redelivery republishes the same
 * events, which the job-completed stage handles idempotently.
 */
import {
  boundedText,
  LABELS,
  parseJobId,
  TOPICS,
  trialCompletedEvent,
  type JobEvent,
} from '@bucketml/contracts';
import type { Messaging } from '@bucketml/ports';
import {
  jobState,
  studyFromVertex,
  type VertexJob,
  type VertexJobService,
} from '@bucketml/ports/vertex-training';
import { createLogger, type Logger } from './logger.js';

export interface VertexEventsContext {
  project: string;
  region: string;
  jobs: VertexJobService;
  messaging: Messaging;
  log: Logger;
}

/** The Vertex job id a sink's LogEntry (resource type ml_job) is about, or null. */
export function jobIdOfLogEntry(entry: unknown): string | null {
  const resource = (
    entry as { resource?: { type?: unknown; labels?: Record<string, unknown> } } | null
  )?.resource;
  const id = resource?.type === 'ml_job' ? resource.labels?.job_id : undefined;
  return typeof id === 'string' && /^\d+$/.test(id) ? id : null;
}

/** The run a job belongs to, when the job is one of ours of the expected kind. */
function identity(
  jobId: string,
  kind: 'study' | 'training',
): { runId: string; model: string } | null {
  const parsed = parseJobId(jobId);
  if (!parsed || parsed.kind !== (kind === 'study' ? 'study' : 'final')) return null;
  return { runId: parsed.runId, model: parsed.model };
}

const isNotFound = (err: unknown) => (err as { code?: unknown }).code === 5;

async function fetchJob(
  ctx: VertexEventsContext,
  id: string,
): Promise<{ kind: 'study' | 'training'; job: VertexJob } | null> {
  const parent = `projects/${ctx.project}/locations/${ctx.region}`;
  try {
    return {
      kind: 'study',
      job: (
        await ctx.jobs.getHyperparameterTuningJob({
          name: `${parent}/hyperparameterTuningJobs/${id}`,
        })
      )[0],
    };
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    return {
      kind: 'training',
      job: (await ctx.jobs.getCustomJob({ name: `${parent}/customJobs/${id}` }))[0],
    };
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return null;
}

/** The events one finished Vertex job stands for (none while it runs or if it is not ours). */
export function jobEventsOf(kind: 'study' | 'training', job: VertexJob): JobEvent[] {
  const jobId = job.displayName ?? '';
  const who = job.labels?.[LABELS.job] ? identity(jobId, kind) : null;
  const state = jobState(job.state);
  if (!who || !state || state === 'QUEUED' || state === 'RUNNING') return [];
  const outcome = state === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED';
  const error =
    outcome === 'FAILED'
      ? boundedText(job.error?.message ?? `job ${state.toLowerCase()}`)
      : undefined;
  if (kind === 'training')
    return [
      { type: 'training.completed', ...who, jobId, state: outcome, ...(error ? { error } : {}) },
    ];
  const study = studyFromVertex(job);
  const trials = study.trials
    .filter((t) => t.state !== 'ACTIVE')
    .map((t) => trialCompletedEvent({ ...who, jobId }, t));
  return [
    ...trials,
    { type: 'study.completed', ...who, jobId, state: outcome, ...(error ? { error } : {}) },
  ];
}

export async function onVertexLogEntry(
  ctx: VertexEventsContext,
  entry: unknown,
): Promise<JobEvent[]> {
  const id = jobIdOfLogEntry(entry);
  if (!id) {
    ctx.log.event(
      'WARNING',
      'ignored a log entry that names no Vertex AI job (check the sink filter)',
      { stage: 'vertex-events' },
    );
    return [];
  }
  const found = await fetchJob(ctx, id);
  const events = found ? jobEventsOf(found.kind, found.job) : [];
  for (const event of events)
    await ctx.messaging.publish(TOPICS.jobEvents, event, { runId: event.runId, type: event.type });
  const last = events.at(-1);
  if (last)
    ctx.log.event(
      last.state === 'SUCCEEDED' ? 'INFO' : 'ERROR',
      `Vertex AI job ${id} (${last.jobId}) finished: ${last.state}`,
      { runId: last.runId, model: last.model, stage: 'vertex-events', events: events.length },
    );
  return events;
}

/** The LogEntry a log sink publishes: the Pub/Sub message data is the entry as JSON. */
export function decodeLogSinkMessage(data: unknown): unknown {
  const encoded = (data as { message?: { data?: unknown } } | null)?.message?.data;
  if (typeof encoded !== 'string') return null;
  try {
    return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    return null;
  }
}

let cached: Promise<VertexEventsContext> | undefined;

export function vertexEventsFromEnv(env = process.env): Promise<VertexEventsContext> {
  cached ??= (async () => {
    const [{ vertexFromEnv }, { PubSubMessaging }] = await Promise.all([
      import('./vertex-runtime.js'),
      import('@bucketml/ports/pubsub'),
    ]);
    const { jobs, project, region } = await vertexFromEnv(env);
    return {
      jobs,
      project,
      region,
      messaging: new PubSubMessaging(project),
      log: createLogger('vertex-events'),
    };
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}
