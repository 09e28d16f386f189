/**
 * @module @bucketml/fn-vertex-events
 * The vertex-events Cloud Function (cloud runtime only): Vertex AI's job log entries, routed by a
 * log sink to a topic, turned into the job events the local training service publishes itself.
 */
import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import {
  decodeLogSinkMessage,
  onVertexLogEntry,
  vertexEventsFromEnv,
} from '@bucketml/pipeline/vertex-events';
import { functionNamed } from '@bucketml/contracts';

/** Pub/Sub push from the Vertex AI log sink's topic → job events (cloud runtime only). */
cloudEvent(functionNamed('vertex-events').entryPoint, async (event: CloudEvent<unknown>) => {
  const ctx = await vertexEventsFromEnv();
  const entry = decodeLogSinkMessage(event.data);
  if (entry === null)
    ctx.log.event('WARNING', 'ignored a message that is not a JSON log entry', {
      stage: 'vertex-events',
    });
  else await onVertexLogEntry(ctx, entry);
});
