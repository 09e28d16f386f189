/**
 * @module @bucketml/fn-deploy
 * The deploy Cloud Function: pushes from the model-candidates topic handed to stage 3, the
 * validation gate that deploys a trained model or rejects it.
 */
import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import { deliverPubSub, onModelCandidate, pipelineFromEnv } from '@bucketml/pipeline';
import { functionNamed } from '@bucketml/contracts';

/** Pub/Sub push from the model-candidates topic → stage 3 (gate and deploy). */
cloudEvent(functionNamed('deploy').entryPoint, async (event: CloudEvent<unknown>) => {
  const ctx = await pipelineFromEnv('deploy');
  await deliverPubSub(ctx, 'deploy', event.data, ['model.candidate'], (e) =>
    onModelCandidate(ctx, e),
  );
});
