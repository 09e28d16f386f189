import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import { deliverPubSub, onJobEvent, pipelineFromEnv } from '@bucketml/pipeline';
import { functionNamed, JOB_EVENT_TYPES } from '@bucketml/contracts';

/** Pub/Sub push from the job-events topic → stage 2. */
cloudEvent(functionNamed('job-completed').entryPoint, async (event: CloudEvent<unknown>) => {
  const ctx = await pipelineFromEnv('job-completed');
  await deliverPubSub(ctx, 'job-completed', event.data, JOB_EVENT_TYPES, (e) => onJobEvent(ctx, e));
});
