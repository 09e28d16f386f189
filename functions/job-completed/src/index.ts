import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import { deliverPubSub, onJobEvent, pipelineFromEnv } from '@bucketml/pipeline';

/** Pub/Sub push from the job-events topic → stage 2. */
cloudEvent('jobCompleted', async (event: CloudEvent<unknown>) => {
  const ctx = await pipelineFromEnv('job-completed');
  await deliverPubSub(ctx, 'job-completed', event.data, ['trial.completed', 'study.completed', 'training.completed'], (e) => onJobEvent(ctx, e));
});
