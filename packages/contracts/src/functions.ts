/**
 * @module functions
 * The function registry and the messaging topology: which functions exist, what triggers each,
 * which topics they publish to. The local stack, the cloud deploy plan, function staging and
 * the push subscriptions all read this one list.
 */

/** Topic names, shared by publishers, the local stack and the cloud deploy plan. */
export const TOPICS = {
  jobEvents: 'bucketml-job-events',
  modelCandidates: 'bucketml-model-candidates',
  /** One run.finished message per run: deployed, rejected or failed. */
  runOutcomes: 'bucketml-run-outcomes',
  deadLetter: 'bucketml-dead-letter',
  /** Cloud only: Vertex AI job log entries, routed here by a log sink. */
  vertexLogs: 'bucketml-vertex-logs',
} as const;
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/**
 * How events reach functions, the same on the emulator and in the cloud: push subscriptions
 * with a retry policy (exponential backoff, not redelivery every second) and a dead-letter
 * topic after 10 attempts, whose pull subscription keeps what landed there for inspection.
 */
export const DELIVERY = {
  ackDeadlineSeconds: 120,
  minBackoffSeconds: 1,
  maxBackoffSeconds: 20,
  maxDeliveryAttempts: 10,
} as const;
export const DEAD_LETTER_SUBSCRIPTION = 'bucketml-dead-letter-pull';

/**
 * The largest request body a function accepts (Vertex AI online prediction's 1.5 MB): refused
 * with 413 from the Content-Length header, before the framework reads and parses the body, by
 * the predict function (in the cloud too), the local function processes and the Vertex
 * container (pipeline's request-limits.ts, which also refuses compressed bodies). Events are far
 * smaller (they carry ids and figures).
 */
export const MAX_REQUEST_BYTES = 1_500_000;

export type Trigger =
  | { kind: 'storage'; prefix: string }
  | { kind: 'pubsub'; topic: TopicName; subscription: string }
  | { kind: 'http' };

export interface FunctionDefinition {
  /** The folder under functions/ and the deployed function's name. */
  name: string;
  /** functions-framework's target (the name the function registers). */
  entryPoint: string;
  signatureType: 'cloudevent' | 'http';
  trigger: Trigger;
  publishes: TopicName[];
  /** Runs only in the cloud (Vertex AI job events); the local stack has no such function. */
  cloudOnly?: boolean;
}

export const FUNCTIONS = [
  {
    name: 'data-upload',
    entryPoint: 'dataUpload',
    signatureType: 'cloudevent',
    trigger: { kind: 'storage', prefix: 'data/' },
    publishes: [TOPICS.runOutcomes],
  },
  {
    name: 'job-completed',
    entryPoint: 'jobCompleted',
    signatureType: 'cloudevent',
    trigger: { kind: 'pubsub', topic: TOPICS.jobEvents, subscription: 'bucketml-job-completed' },
    publishes: [TOPICS.modelCandidates, TOPICS.runOutcomes],
  },
  {
    name: 'deploy',
    entryPoint: 'deploy',
    signatureType: 'cloudevent',
    trigger: { kind: 'pubsub', topic: TOPICS.modelCandidates, subscription: 'bucketml-deploy' },
    publishes: [TOPICS.runOutcomes],
  },
  {
    name: 'vertex-events',
    entryPoint: 'vertexEvents',
    signatureType: 'cloudevent',
    trigger: { kind: 'pubsub', topic: TOPICS.vertexLogs, subscription: 'bucketml-vertex-events' },
    publishes: [TOPICS.jobEvents],
    cloudOnly: true,
  },
  {
    name: 'predict',
    entryPoint: 'predict',
    signatureType: 'http',
    trigger: { kind: 'http' },
    publishes: [],
  },
] as const satisfies readonly FunctionDefinition[];

export type FunctionName = (typeof FUNCTIONS)[number]['name'];

export function functionNamed(name: FunctionName): FunctionDefinition {
  return FUNCTIONS.find((f) => f.name === name)!;
}

/** The push subscriptions: one per Pub/Sub-triggered function. */
export function pushSubscriptions(options: {
  includeCloudOnly: boolean;
}): { subscription: string; topic: TopicName; fn: FunctionName }[] {
  return (FUNCTIONS as readonly FunctionDefinition[])
    .filter((f) => f.trigger.kind === 'pubsub' && (options.includeCloudOnly || !f.cloudOnly))
    .map((f) => {
      const t = f.trigger as Extract<Trigger, { kind: 'pubsub' }>;
      return { subscription: t.subscription, topic: t.topic, fn: f.name as FunctionName };
    });
}

/**
 * The log sink's filter: the Vertex AI service's own entries about a job (task "service"), not
 * the trainer's output. The vertex-events function re-reads each job it names, so the text
 * match only narrows traffic; an entry that slips through costs one API call.
 */
export const VERTEX_LOG_FILTER =
  'resource.type="ml_job" AND resource.labels.task_name="service" AND ' +
  '(textPayload:"Job completed successfully" OR textPayload:"Job failed" OR textPayload:"Job was cancelled" OR severity>=ERROR)';

/** The labels BucketML puts on Vertex AI jobs, which vertex-events reads back. */
export const LABELS = {
  run: 'bucketml-run',
  job: 'bucketml-job',
  model: 'bucketml-model',
} as const;
