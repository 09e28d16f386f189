/**
 * @module pubsub-delivery
 * Unwraps a Pub/Sub push (as a CloudEvent's data) and hands the event to a stage. A malformed
 * or misrouted event is logged as ERROR and acknowledged — redelivering it cannot help; any
 * other failure propagates so Pub/Sub redelivers (retry policy, then dead-letter topic).
 */
import { decodePubSubCloudEvent, InvalidEventError, type PipelineEvent } from '@bucketml/contracts';
import type { PipelineContext } from './context.js';

export async function deliverPubSub<T extends PipelineEvent['type']>(
  ctx: PipelineContext,
  stage: string,
  data: unknown,
  types: readonly T[],
  handle: (event: Extract<PipelineEvent, { type: T }>) => Promise<void>,
): Promise<void> {
  let event: PipelineEvent;
  try {
    event = decodePubSubCloudEvent(data).event;
    if (!types.includes(event.type as T))
      throw new InvalidEventError(`${stage} does not handle ${event.type} events`);
  } catch (err) {
    if (!(err instanceof InvalidEventError)) throw err;
    ctx.log.event('ERROR', `dropped an invalid event: ${err.message}`, { stage });
    return;
  }
  await handle(event as Extract<PipelineEvent, { type: T }>);
}
