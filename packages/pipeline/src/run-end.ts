/**
 * @module run-end
 * How a stage meets a run: the run-state guard for a delivery, and the end of a run (its outcome
 * by compare-and-swap, its one run.finished message, its page rewritten).
 */
import {
  boundedText,
  TOPICS,
  type RunFinishedEvent,
  type RunOutcome,
  type RunRecord,
  type RunStateName,
} from '@bucketml/contracts';
import type { PipelineContext } from './context.js';
import type { Logger } from './logger.js';
import { refreshRunPage } from './run-page.js';

/**
 * The run if it is in one of `states`; otherwise null, after a DEBUG line: a delivery for a
 * step the run has already left (a redelivery, or a duplicate) is acknowledged and ignored.
 * A run found ended whose run.finished was never published (a crash in between) publishes it.
 */
export async function runAwaiting(
  ctx: PipelineContext,
  runId: string,
  states: RunStateName[],
  log: Logger,
  what: string,
): Promise<RunRecord | null> {
  const current = await ctx.runs.get(runId);
  if (current && states.includes(current.run.state)) return current.run;
  if (current) await publishRunFinished(ctx, current.run);
  log.event('DEBUG', `${what} ignored: run is ${current?.run.state ?? 'unknown'}`);
  return null;
}

/**
 * Ends a run: moves it to its outcome (compare-and-swap; nothing happens if another delivery
 * got there first), lets the stage log its step, publishes the run's one run.finished and
 * rewrites the run page.
 */
export async function finishRun(
  ctx: PipelineContext,
  runId: string,
  from: RunStateName[],
  outcome: RunOutcome,
  patch: Partial<RunRecord>,
  logEnd: (run: RunRecord) => void,
): Promise<void> {
  const ended = await ctx.runs.advance(runId, from, outcome, patch);
  if (!ended) return;
  logEnd(ended);
  await publishRunFinished(ctx, ended);
  await refreshRunPage(ctx, runId);
}

/**
 * Fails a run for a reason a retry will not fix: the ERROR event (`run failed: …`, with
 * `fields`) and the run's run.finished, once.
 */
export async function failRun(
  ctx: PipelineContext,
  runId: string,
  from: RunStateName[],
  error: NonNullable<RunRecord['error']>,
  log: Logger,
  fields: Record<string, unknown> = {},
): Promise<void> {
  await finishRun(ctx, runId, from, 'failed', { error }, () =>
    log.event('ERROR', `run failed: ${error.message}`, { ...fields, reason: error.message }),
  );
}

/** Publishes the run's run.finished once it has ended, unless that was done already. */
export async function publishRunFinished(ctx: PipelineContext, run: RunRecord): Promise<void> {
  if (
    run.finishedPublished ||
    (run.state !== 'deployed' && run.state !== 'rejected' && run.state !== 'failed')
  )
    return;
  const event: RunFinishedEvent = {
    type: 'run.finished',
    runId: run.runId,
    model: run.model,
    outcome: run.state,
    reason: boundedText(run.decision?.reason ?? run.error?.message ?? run.state),
    ...(run.version ? { version: run.version } : {}),
    ...(run.decision ? { metric: run.decision.metric } : {}),
    ...(run.decision?.candidateValue !== undefined
      ? { candidateValue: run.decision.candidateValue }
      : {}),
    ...(run.decision?.servingValue !== undefined
      ? { servingValue: run.decision.servingValue }
      : {}),
    ...(run.decision?.evalRows !== undefined ? { evalRows: run.decision.evalRows } : {}),
  };
  await ctx.messaging.publish(TOPICS.runOutcomes, event, { runId: run.runId, type: event.type });
  await ctx.runs.update(run.runId, { finishedPublished: true });
}
