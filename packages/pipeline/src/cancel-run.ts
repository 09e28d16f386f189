/**
 * @module cancel-run
 * A cancel request (runs/<runId>/cancel.json, written by `bucketml cancel`) arrives as a storage
 * event like a drop: the run's jobs are cancelled on the training backend and the run fails with
 * the request's reason. The request is an object, so it holds across restarts: a stage that
 * submits a job to a run that has meanwhile ended cancels that job again (cancelIfRunEnded).
 * A run already gating (being deployed) or ended is left as it is.
 */
import { boundedText, isTerminal, jobIdOf, layout, type RunStateName } from '@bucketml/contracts';
import type { PipelineContext } from './context.js';
import { failRun, publishRunFinished } from './run-end.js';

/** The states a cancel request ends a run from: before the gate. */
const CANCELLABLE: RunStateName[] = ['received', 'tuning', 'final-training'];

export async function onCancelRequested(ctx: PipelineContext, runId: string): Promise<void> {
  const log = ctx.log.child({ runId, stage: 'cancel' });
  const current = await ctx.runs.get(runId);
  if (!current) {
    log.event('WARNING', `cancel request for ${runId} ignored: there is no such run`);
    return;
  }
  // The request itself, not the event, says a run is cancelled (an event can be forged).
  const request = await ctx.storage.stat(layout.cancelRequest(runId));
  if (!request) {
    log.event('WARNING', `cancel event ignored: ${layout.cancelRequest(runId)} does not exist`);
    return;
  }
  if (CANCELLABLE.includes(current.run.state)) {
    const text =
      request.size <= MAX_REQUEST_BYTES
        ? (await ctx.storage.read(layout.cancelRequest(runId)))?.data.toString('utf8')
        : undefined;
    const reason = text ? reasonOf(text) : undefined;
    // The run ends first, so no stage starts a job for it after the cancels below.
    await failRun(
      ctx,
      runId,
      CANCELLABLE,
      { stage: 'cancel', message: `cancelled${reason ? `: ${reason}` : ''}` },
      log,
    );
  }
  const run = (await ctx.runs.get(runId))!.run;
  if (run.error?.stage === 'cancel') {
    // Both jobs: the study, and a final training a concurrent analysis may just have submitted;
    // again on every redelivery, as a crash after the run ended may have left one running.
    for (const kind of ['study', 'final'] as const)
      await ctx.training.cancelJob(jobIdOf(runId, kind));
    return;
  }
  log.event('NOTICE', `cancel request ignored: the run is already ${run.state}`);
  await publishRunFinished(ctx, run);
}

/** A cancel request is a small JSON object; a bigger one is not read (its reason is left out). */
const MAX_REQUEST_BYTES = 10_000;

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
