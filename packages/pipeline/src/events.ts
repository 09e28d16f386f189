import type { ParameterValue, Trial, TrialState } from '@bucketml/ports';

/**
 * Events on Pub/Sub, shared by every publisher and subscriber. Small by design: ids, object
 * names and figures — never data. `parseEvent` validates what arrives; a malformed event is a
 * permanent failure (logged and acknowledged), not something to retry.
 */
interface EventBase {
  runId: string;
  model: string;
}

export interface TrialCompletedEvent extends EventBase {
  type: 'trial.completed';
  jobId: string;
  trialId: string;
  state: TrialState;
  parameters: Record<string, ParameterValue>;
  objective?: number;
  seconds?: number;
  error?: string;
}

export interface StudyCompletedEvent extends EventBase {
  type: 'study.completed';
  jobId: string;
  state: 'SUCCEEDED' | 'FAILED';
  error?: string;
}

export interface TrainingCompletedEvent extends EventBase {
  type: 'training.completed';
  jobId: string;
  state: 'SUCCEEDED' | 'FAILED';
  /** Object prefix of the trained model (its model.json carries the metrics). */
  modelPrefix: string;
  error?: string;
}

export interface ModelCandidateEvent extends EventBase {
  type: 'model.candidate';
  modelPrefix: string;
  rmse: number;
}

export type JobEvent = TrialCompletedEvent | StudyCompletedEvent | TrainingCompletedEvent;
export type PipelineEvent = JobEvent | ModelCandidateEvent;

/** The trial.completed event of a finished trial, the same from every training backend. */
export function trialCompletedEvent(job: { runId: string; model: string; jobId: string }, trial: Trial): TrialCompletedEvent {
  return {
    type: 'trial.completed',
    ...job,
    trialId: trial.id,
    state: trial.state,
    parameters: trial.parameters,
    ...(trial.objective !== undefined ? { objective: trial.objective } : {}),
    ...(trial.startTime && trial.endTime ? { seconds: (Date.parse(trial.endTime) - Date.parse(trial.startTime)) / 1000 } : {}),
    ...(trial.error ? { error: trial.error } : {}),
  };
}

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

const REQUIRED: Record<PipelineEvent['type'], string[]> = {
  'trial.completed': ['jobId', 'trialId', 'state', 'parameters'],
  'study.completed': ['jobId', 'state'],
  'training.completed': ['jobId', 'state', 'modelPrefix'],
  'model.candidate': ['modelPrefix', 'rmse'],
};

export function parseEvent(value: unknown): PipelineEvent {
  if (typeof value !== 'object' || value === null) throw new InvalidEventError('event is not a JSON object');
  const e = value as Record<string, unknown>;
  const required = REQUIRED[e.type as PipelineEvent['type']];
  if (!required) throw new InvalidEventError(`unknown event type ${JSON.stringify(e.type)}`);
  for (const field of ['runId', 'model', ...required]) {
    if (e[field] === undefined || e[field] === null || e[field] === '') throw new InvalidEventError(`${e.type} event lacks ${field}`);
  }
  return e as unknown as PipelineEvent;
}

/** The JSON event inside a Pub/Sub push delivered as a CloudEvent (messagePublished). */
export function decodePubSubCloudEvent(data: unknown): { event: PipelineEvent; messageId?: string } {
  const message = (data as { message?: { data?: string; messageId?: string } } | undefined)?.message;
  if (!message?.data) throw new InvalidEventError('not a Pub/Sub message: no message.data');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
  } catch {
    throw new InvalidEventError('Pub/Sub message data is not JSON');
  }
  return { event: parseEvent(json), messageId: message.messageId };
}
