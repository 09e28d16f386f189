/**
 * @module @bucketml/fn-data-upload
 * The data-upload Cloud Function: the bucket's object-finalized events, delivered by Eventarc
 * (locally by the bucket watcher), handed to stage 1, which turns a drop of CSVs into a run
 * (and routes cancel requests and batch inputs under predict/<model>/ to their stages).
 */
import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import { onObjectFinalized, pipelineFromEnv } from '@bucketml/pipeline';
import { functionNamed, type StorageObjectData } from '@bucketml/contracts';

/** OBJECT_FINALIZED (Eventarc; locally the bucket watcher) → stage 1. */
cloudEvent<StorageObjectData>(
  functionNamed('data-upload').entryPoint,
  async (event: CloudEvent<StorageObjectData>) => {
    const ctx = await pipelineFromEnv('data-upload');
    if (!event.data?.name) {
      ctx.log.event('ERROR', 'dropped a storage event without an object name', {
        stage: 'data-upload',
        eventId: event.id,
      });
      return;
    }
    await onObjectFinalized(ctx, event.data);
  },
);
