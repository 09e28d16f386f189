/**
 * @module topology
 * Topics and push subscriptions on the emulator, created idempotently, with the delivery settings
 * (retry policy, dead-letter topic) the cloud deploy gives them. The push endpoint path
 * /projects/P/topics/T is what functions-framework recognises as a Pub/Sub push and turns into a
 * messagePublished CloudEvent.
 */
import { PubSub } from '@google-cloud/pubsub';
import { DEAD_LETTER_SUBSCRIPTION, DELIVERY, FUNCTIONS, TOPICS } from '@bucketml/contracts';

/** A push subscription to create: `topic` pushed to the function at `url`. */
export interface PushTarget {
  subscription: string;
  topic: string;
  /** Base URL of the function, e.g. http://127.0.0.1:8082 */
  url: string;
}

export async function createTopology(projectId: string, targets: PushTarget[]): Promise<void> {
  const pubsub = new PubSub({ projectId });
  try {
    // Every topic a function publishes to, so publishing never fails for a missing topic.
    for (const topic of new Set([
      ...targets.map((t) => t.topic),
      ...FUNCTIONS.flatMap((f) => f.publishes),
      TOPICS.deadLetter,
    ])) {
      await ignoreExists(pubsub.createTopic(topic));
    }
    await ignoreExists(
      pubsub.topic(TOPICS.deadLetter).createSubscription(DEAD_LETTER_SUBSCRIPTION),
    );
    for (const t of targets) {
      await ignoreExists(
        pubsub.topic(t.topic).createSubscription(t.subscription, {
          pushConfig: { pushEndpoint: `${t.url}/projects/${projectId}/topics/${t.topic}` },
          ackDeadlineSeconds: DELIVERY.ackDeadlineSeconds,
          retryPolicy: {
            minimumBackoff: { seconds: DELIVERY.minBackoffSeconds },
            maximumBackoff: { seconds: DELIVERY.maxBackoffSeconds },
          },
          deadLetterPolicy: {
            deadLetterTopic: `projects/${projectId}/topics/${TOPICS.deadLetter}`,
            maxDeliveryAttempts: DELIVERY.maxDeliveryAttempts,
          },
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
