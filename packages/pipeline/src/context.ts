/**
 * @module context
 * What a stage needs from the outside world (the ports, a logger, settings), and the helpers
 * every stage shares: its model's spec, bucket objects as CSV sources, the run-state guard and
 * the end of a run.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  boundedText,
  layout,
  setting,
  TOPICS,
  type RunFinishedEvent,
  type RunOutcome,
  type RunRecord,
  type RunStateName,
} from '@bucketml/contracts';
import {
  BUILTIN_MODEL_NAMES,
  builtinSpec,
  inferSpec,
  isHeaderRow,
  readCsvHeader,
  parseInferenceConfig,
  SpecError,
  specFromDocument,
  type DataSource,
  type ModelSpec,
} from '@bucketml/model';
import type { Messaging, Storage, TrainingBackend } from '@bucketml/ports';
import type { Logger } from './logger.js';
import { refreshRunPage } from './run-page.js';
import type { RunStore } from './run-store.js';

export interface PipelineContext {
  storage: Storage;
  messaging: Messaging;
  training: TrainingBackend;
  log: Logger;
  runs: RunStore;
  /** How long a drop's listing must stay unchanged before a run starts (several files, one run). */
  settleMs: number;
  /** Seed for studies and final trainings: a data version always trains the same way. */
  seed: number;
  /** Fault injection for tests: kills this process the first time a named point is reached. */
  crashPoint(point: string): void;
}

/**
 * `BUCKETML_CRASH_POINTS=deploy:after-copy,...` with `BUCKETML_CRASH_DIR`: the process SIGKILLs
 * itself the first time it reaches each point (a marker file makes it once per stack), which
 * is how tests kill a function mid-step at a known place.
 */
export function crashPointsFromEnv(env = process.env): (point: string) => void {
  const points = new Set((setting('BUCKETML_CRASH_POINTS', env) ?? '').split(',').filter(Boolean));
  const dir = setting('BUCKETML_CRASH_DIR', env);
  if (points.size === 0 || !dir) return () => undefined;
  return (point) => {
    if (!points.has(point)) return;
    const marker = join(dir, point.replace(/[^a-z0-9-]/gi, '_'));
    if (existsSync(marker)) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(marker, String(process.pid));
    process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * The spec a run trains with: a built-in model's, or one from config/<model>/schema.json,
 * which holds either a full spec or only `{"label": "<column>"}` (plus optional overrides),
 * in which case the spec is inferred from the run's training files. Either way a non-built-in
 * spec is saved as runs/<runId>/spec.json, and trials read that snapshot: an edit of the
 * config during the run cannot change what it trains.
 *
 * `prepare` is called once how a header row is told is known (from the spec, or always one for
 * inference), before inference reads anything: it returns the training files as the run reads
 * them (a drop without evaluation files splits them there, so inference sees the training
 * rows only).
 */
export async function resolveModelSpec(
  ctx: PipelineContext,
  model: string,
  runId: string,
  trainFiles: DataSource[],
  prepare: (isHeader: (fields: string[]) => boolean) => Promise<DataSource[]> = async () =>
    trainFiles,
): Promise<{ spec: ModelSpec; specObject?: string }> {
  const builtin = builtinSpec(model);
  if (builtin) {
    await prepare((fields) => isHeaderRow(fields, builtin));
    return { spec: builtin };
  }
  const name = layout.schemaConfig(model);
  const obj = await ctx.storage.read(name);
  if (!obj) {
    const first = trainFiles[0] ? await readCsvHeader(trainFiles[0]) : null;
    // Shown only when it is a header (names, not numbers), and only so much of it.
    const columns = first?.every((c) => c !== '' && !/^[-+.\d]+$/.test(c))
      ? first.slice(0, 50)
      : null;
    throw new SpecError([
      `"${model}" is not a built-in model (${BUILTIN_MODEL_NAMES.join(', ')}): write ${name} containing {"label": "<the column to predict>"}${columns ? ` (the columns of ${trainFiles[0].name}: ${columns.join(', ')})` : ''}`,
    ]);
  }
  let document: unknown;
  try {
    document = JSON.parse(obj.data.toString('utf8'));
  } catch (err) {
    throw new SpecError([`${name} is not valid JSON: ${(err as Error).message}`]);
  }
  const isConfig =
    typeof document === 'object' &&
    document !== null &&
    typeof (document as { label?: unknown }).label === 'string';
  let spec: ModelSpec;
  if (isConfig) {
    const options = parseInferenceConfig(document, name);
    spec = await inferSpec(await prepare(() => true), { name: model, ...options });
  } else spec = specFromDocument(obj.data.toString('utf8'), name);
  if (spec.name !== model)
    throw new SpecError([`${name}: name is "${spec.name}" but the folder is "${model}"`]);
  const written = spec;
  if (!isConfig) await prepare((fields) => isHeaderRow(fields, written));
  const specObject = layout.runSpec(runId);
  await ctx.storage.write(specObject, JSON.stringify(spec, null, 2));
  return { spec, specObject };
}

export { storageSource } from './storage-source.js';

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
