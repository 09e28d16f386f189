/**
 * @module events
 * Events on Pub/Sub, shared by every publisher and subscriber. Small by design: ids and
 * figures, never paths or data: a stage derives every object it touches from run state and the
 * bucket layout, so a forged event cannot point it elsewhere. `parseEvent` checks every field's
 * type on receipt; a malformed event is a permanent failure (logged and acknowledged).
 */
import { parseJobId, parseRunId } from './ids.js';
import {
  JOB_OUTCOMES,
  TRIAL_STATES,
  type EarlyStopDecision,
  type JobOutcome,
  type ParameterValue,
  type Trial,
  type TrialState,
} from './jobs.js';
import { TERMINAL_STATES, type RunOutcome } from './run.js';

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
  /** A stopped trial's early-stop numbers (the local training service's median rule). */
  earlyStop?: EarlyStopDecision;
}

export interface StudyCompletedEvent extends EventBase {
  type: 'study.completed';
  jobId: string;
  state: JobOutcome;
  error?: string;
}

export interface TrainingCompletedEvent extends EventBase {
  type: 'training.completed';
  jobId: string;
  state: JobOutcome;
  error?: string;
}

export interface ModelCandidateEvent extends EventBase {
  type: 'model.candidate';
  /** The final model's eval value of the study's metric tag. */
  metric: string;
  value: number;
}

/** The end of every run, on TOPICS.runOutcomes. */
export interface RunFinishedEvent extends EventBase {
  type: 'run.finished';
  outcome: RunOutcome;
  reason: string;
  version?: string;
  metric?: string;
  candidateValue?: number;
  servingValue?: number;
  /** The eval rows both models were measured on. */
  evalRows?: number;
}

export type JobEvent = TrialCompletedEvent | StudyCompletedEvent | TrainingCompletedEvent;
/** What the training backends publish on TOPICS.jobEvents. */
export const JOB_EVENT_TYPES = [
  'trial.completed',
  'study.completed',
  'training.completed',
] as const satisfies readonly JobEvent['type'][];
export type PipelineEvent = JobEvent | ModelCandidateEvent | RunFinishedEvent;
export type EventType = PipelineEvent['type'];

/** Free text in events (errors, reasons) is cut to this many characters. */
export const MAX_EVENT_TEXT = 2000;

export function boundedText(text: string, max = MAX_EVENT_TEXT): string {
  return text.length <= max
    ? text
    : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** The trial.completed event of a finished trial, the same from every training backend. */
export function trialCompletedEvent(
  job: { runId: string; model: string; jobId: string },
  trial: Trial,
): TrialCompletedEvent {
  return {
    type: 'trial.completed',
    ...job,
    trialId: trial.id,
    state: trial.state,
    parameters: trial.parameters,
    ...(trial.objective !== undefined ? { objective: trial.objective } : {}),
    ...(trial.startTime && trial.endTime
      ? { seconds: (Date.parse(trial.endTime) - Date.parse(trial.startTime)) / 1000 }
      : {}),
    ...(trial.error ? { error: boundedText(trial.error) } : {}),
    ...(trial.earlyStop ? { earlyStop: trial.earlyStop } : {}),
  };
}

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

type FieldCheck = (v: unknown) => boolean;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const id: FieldCheck = (v) => typeof v === 'string' && ID.test(v);
const finite: FieldCheck = (v) => typeof v === 'number' && Number.isFinite(v);
const oneOf =
  (values: readonly string[]): FieldCheck =>
  (v) =>
    typeof v === 'string' && values.includes(v);
const text: FieldCheck = (v) => typeof v === 'string' && v.length <= MAX_EVENT_TEXT * 2;
const EARLY_STOP_FIELDS = [
  'measurement',
  'value',
  'median',
  'finished',
  'improvement',
  'medianImprovement',
] as const satisfies readonly (keyof EarlyStopDecision)[];
const earlyStop: FieldCheck = (v) =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.keys(v).length === EARLY_STOP_FIELDS.length &&
  EARLY_STOP_FIELDS.every((k) => finite((v as Record<string, unknown>)[k]));
const count: FieldCheck = (v) => Number.isInteger(v) && (v as number) >= 0;
const parameters: FieldCheck = (v) =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.entries(v).every(
    ([k, x]) => ID.test(k) && (finite(x) || (typeof x === 'string' && x.length <= 200)),
  );

/** Each event type's fields: required ones, then optional ones (checked when present). */
const SCHEMAS: Record<
  EventType,
  { required: Record<string, FieldCheck>; optional?: Record<string, FieldCheck> }
> = {
  'trial.completed': {
    required: { jobId: id, trialId: id, state: oneOf(TRIAL_STATES), parameters },
    optional: { objective: finite, seconds: finite, error: text, earlyStop },
  },
  'study.completed': {
    required: { jobId: id, state: oneOf(JOB_OUTCOMES) },
    optional: { error: text },
  },
  'training.completed': {
    required: { jobId: id, state: oneOf(JOB_OUTCOMES) },
    optional: { error: text },
  },
  'model.candidate': { required: { metric: text, value: finite } },
  'run.finished': {
    required: { outcome: oneOf(TERMINAL_STATES), reason: text },
    optional: {
      version: id,
      metric: text,
      candidateValue: finite,
      servingValue: finite,
      evalRows: count,
    },
  },
};

export function parseEvent(value: unknown): PipelineEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidEventError('event is not a JSON object');
  const e = value as Record<string, unknown>;
  const schema = typeof e.type === 'string' ? SCHEMAS[e.type as EventType] : undefined;
  if (!schema)
    throw new InvalidEventError(`unknown event type ${JSON.stringify(e.type)?.slice(0, 100)}`);
  const run = typeof e.runId === 'string' ? parseRunId(e.runId) : null;
  if (!run) throw new InvalidEventError(`${e.type} event: runId is not a run id`);
  if (e.model !== run.model)
    throw new InvalidEventError(`${e.type} event: model does not match run ${e.runId}`);
  for (const [field, ok] of Object.entries(schema.required)) {
    if (!ok(e[field]))
      throw new InvalidEventError(`${e.type} event: ${field} is missing or malformed`);
  }
  for (const [field, ok] of Object.entries(schema.optional ?? {})) {
    if (e[field] !== undefined && !ok(e[field]))
      throw new InvalidEventError(`${e.type} event: ${field} is malformed`);
  }
  if (typeof e.jobId === 'string' && parseJobId(e.jobId)?.runId !== e.runId)
    throw new InvalidEventError(`${e.type} event: job ${e.jobId} is not a job of run ${e.runId}`);
  return e as unknown as PipelineEvent;
}

/** The JSON event inside a Pub/Sub push delivered as a CloudEvent (messagePublished). */
export function decodePubSubCloudEvent(data: unknown): {
  event: PipelineEvent;
  messageId?: string;
} {
  const message = (data as { message?: { data?: unknown; messageId?: unknown } } | undefined)
    ?.message;
  if (typeof message?.data !== 'string')
    throw new InvalidEventError('not a Pub/Sub message: no message.data');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
  } catch {
    throw new InvalidEventError('Pub/Sub message data is not JSON');
  }
  return {
    event: parseEvent(json),
    messageId: typeof message.messageId === 'string' ? message.messageId : undefined,
  };
}
