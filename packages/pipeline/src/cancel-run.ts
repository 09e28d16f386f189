/**
 * @module cancel-run
 * A cancel request (runs/<runId>/cancel.json, written by `bucketml cancel`) arrives as a storage
 * event like a drop: the run's jobs are cancelled on the training backend and the run fails with
 * the request's reason. The request is an object, so it holds across restarts: a stage that
 * submits a job to a run that has meanwhile ended cancels that job again (cancelIfRunEnded).
 * A run already gating (being deployed) or ended is left as it is.
 */
import { boundedText, isTerminal, jobIdOf, layout, type RunStateName } from '@bucketml/contracts';
import { failRun, publishRunFinished, type PipelineContext } from './context.js';

/** The states a cancel request ends a run from: before the gate. */
const CANCELLABLE: RunStateName[] = ['received', 'tuning', 'final-training'];

export async function onCancelRequested(ctx: PipelineContext, runId: string): Promise<void> {
  const log = ctx.log.child({ runId, stage: 'cancel' });
  const current = await ctx.runs.get(runId);
  if (!current) {
    log.event('WARNING', `cancel request for ${runId} ignored: there is no such run`);
    return;
  }
  const { run } = current;
  if (!CANCELLABLE.includes(run.state)) {
    log.event('NOTICE', `cancel request ignored: the run is already ${run.state}`);
    await publishRunFinished(ctx, run);
    return;
  }
  const request = await ctx.storage.read(layout.cancelRequest(runId));
  const reason = request ? reasonOf(request.data.toString('utf8')) : undefined;
  // Both jobs: the study, and a final training a concurrent analysis may just have submitted.
  for (const kind of ['study', 'final'] as const)
    await ctx.training.cancelJob(jobIdOf(runId, kind));
  await failRun(
    ctx,
    runId,
    CANCELLABLE,
    { stage: 'cancel', message: `cancelled${reason ? `: ${reason}` : ''}` },
    log,
  );
}

/**
 * After a stage submitted `jobId` but could not move the run on: when the run has ended
 * meanwhile (a cancel request), the job is cancelled rather than left to run for nobody.
 */
export async function cancelIfRunEnded(
  ctx: PipelineContext,
  runId: string,
  jobId: string,
): Promise<void> {
  const current = await ctx.runs.get(runId);
  if (current && isTerminal(current.run.state)) await ctx.training.cancelJob(jobId);
}

function reasonOf(text: string): string | undefined {
  try {
    const reason = (JSON.parse(text) as { reason?: unknown }).reason;
    return typeof reason === 'string' && reason.trim() ? boundedText(reason.trim()) : undefined;
  } catch {
    return undefined;
  }
}
