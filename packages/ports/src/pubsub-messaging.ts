/**
 * @module pubsub-messaging
 * The messaging port on Pub/Sub, for both runtimes: locally it talks to the emulator.
 */
import { PubSub, type Topic } from '@google-cloud/pubsub';
import type { Messaging } from './messaging.js';

/**
 * Messaging over @google-cloud/pubsub. With PUBSUB_EMULATOR_HOST set, the client talks to the
 * emulator; otherwise to Pub/Sub with application default credentials.
 */
export class PubSubMessaging implements Messaging {
  private readonly client: PubSub;
  private readonly topics = new Map<string, Topic>();

  constructor(
    projectId: string,
    private readonly duplicate = 1,
  ) {
    this.client = new PubSub({ projectId });
  }

  async publish(
    topic: string,
    event: object,
    attributes: Record<string, string> = {},
  ): Promise<string> {
    let t = this.topics.get(topic);
    if (!t) {
      // Publish immediately: events are few and a step should not wait for a batch to fill.
      t = this.client.topic(topic, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
      this.topics.set(topic, t);
    }
    const data = Buffer.from(JSON.stringify(event));
    let id = '';
    // `duplicate` > 1 only in tests: at-least-once delivery, made visible.
    for (let i = 0; i < this.duplicate; i++) id = await t.publishMessage({ data, attributes });
    return id;
  }

  async close(): Promise<void> {
    await Promise.all([...this.topics.values()].map((t) => t.flush().catch(() => undefined)));
    await this.client.close();
  }
}
