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
} as const;
