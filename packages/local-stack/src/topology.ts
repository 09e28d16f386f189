import { PubSub } from '@google-cloud/pubsub';
import { TOPICS } from '@bucketml/ports';

/**
 * Topics and push subscriptions, created idempotently. Every push subscription has a retry
 * policy (exponential backoff instead of redelivery every second) and a dead-letter topic
 * (after 10 attempts) with a pull subscription that keeps what landed there for inspection.
 * The push endpoint path /projects/P/topics/T is what functions-framework recognises as a
 * Pub/Sub push and turns into a messagePublished CloudEvent.
 */
export interface PushTarget {
  subscription: string;
  topic: string;
  /** Base URL of the function, e.g. http://127.0.0.1:8082 */
  url: string;
}

export const DEAD_LETTER_SUBSCRIPTION = 'bucketml-dead-letter-pull';

export async function createTopology(projectId: string, targets: PushTarget[]): Promise<void> {
  const pubsub = new PubSub({ projectId });
  try {
    for (const topic of new Set([...targets.map((t) => t.topic), TOPICS.deadLetter])) {
      await ignoreExists(pubsub.createTopic(topic));
    }
    await ignoreExists(pubsub.topic(TOPICS.deadLetter).createSubscription(DEAD_LETTER_SUBSCRIPTION));
    for (const t of targets) {
      await ignoreExists(
        pubsub.topic(t.topic).createSubscription(t.subscription, {
          pushConfig: { pushEndpoint: `${t.url}/projects/${projectId}/topics/${t.topic}` },
          ackDeadlineSeconds: 120,
          retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 20 } },
          deadLetterPolicy: { deadLetterTopic: `projects/${projectId}/topics/${TOPICS.deadLetter}`, maxDeliveryAttempts: 10 },
        }),
      );
    }
  } finally {
    await pubsub.close();
  }
}

async function ignoreExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if ((err as { code?: number }).code !== 6) throw err; // 6 = ALREADY_EXISTS
  }
}
