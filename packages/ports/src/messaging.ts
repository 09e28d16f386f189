/** Publishes JSON events to topics (Pub/Sub: the real service or its emulator). */
export interface Messaging {
  /** Returns the message id. `attributes` are for routing and filtering, not payload. */
  publish(topic: string, event: object, attributes?: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

/** Topic names, shared by publishers, the local stack and the cloud deploy plan. */
export const TOPICS = {
  jobEvents: 'bucketml-job-events',
  modelCandidates: 'bucketml-model-candidates',
  deadLetter: 'bucketml-dead-letter',
  /** Cloud only: Vertex AI job log entries, routed here by a log sink. */
  vertexLogs: 'bucketml-vertex-logs',
} as const;

/**
 * How events reach functions, the same on the emulator and in the cloud: push subscriptions
 * with a retry policy (exponential backoff, not redelivery every second) and a dead-letter
 * topic after 10 attempts, whose pull subscription keeps what landed there for inspection.
 */
export const DELIVERY = { ackDeadlineSeconds: 120, minBackoffSeconds: 1, maxBackoffSeconds: 20, maxDeliveryAttempts: 10 } as const;
export const DEAD_LETTER_SUBSCRIPTION = 'bucketml-dead-letter-pull';
export const PUSH_SUBSCRIPTIONS = [
  { subscription: 'bucketml-job-completed', topic: TOPICS.jobEvents, fn: 'job-completed' },
  { subscription: 'bucketml-deploy', topic: TOPICS.modelCandidates, fn: 'deploy' },
] as const;
