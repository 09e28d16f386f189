/**
 * @module messaging
 * The messaging port: how a stage hands events to the next one (and the training backend its job
 * events) through Pub/Sub topics.
 */
/** Publishes JSON events to topics (Pub/Sub: the real service or its emulator). */
export interface Messaging {
  /** Returns the message id. `attributes` are for routing and filtering, not payload. */
  publish(topic: string, event: object, attributes?: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}
