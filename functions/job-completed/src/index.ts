/**
 * @module @bucketml/fn-job-completed
 * The job-completed Cloud Function: pushes from the job-events topic (trial, study and training
 * completions) handed to stage 2, which analyses a study, submits the final training and publishes
 * its model as a deployment candidate.
 */
import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import { deliverPubSub, onJobEvent, pipelineFromEnv } from '@bucketml/pipeline';
import { functionNamed, JOB_EVENT_TYPES } from '@bucketml/contracts';

/** Pub/Sub push from the job-events topic → stage 2. */
cloudEvent(functionNamed('job-completed').entryPoint, async (event: CloudEvent<unknown>) => {
  const ctx = await pipelineFromEnv('job-completed');
  await deliverPubSub(ctx, 'job-completed', event.data, JOB_EVENT_TYPES, (e) => onJobEvent(ctx, e));
});
