/**
 * @module batch-predict
 * Batch prediction by drop: an object under predict/<model>/ (a CSV with a header, or JSON lines
 * of instances) is answered row by row by the model's serving version, into
 * predictions/<model>/<file>.jsonl (one line per input row, in order), then a summary
 * (<file>.summary.json: rows, errors, the version used, the input's generation).
 *
 * Streaming: the input is read as a stream and the answers written as one (Storage.writeStream),
 * pulled a chunk at a time, so memory does not grow with the input. The answers object appears
 * whole or not at all, and the summary is written after it: a summary for the input's
 * generation means the job is done, and a redelivery of that generation writes nothing; a
 * crash before it means a redelivery redoes the job from the start, overwriting.
 *
 * The newest generation wins: the answers are committed only if the input is still at the
 * generation read (checked as the stream ends) and only over the answers the job saw at its
 * start (ifGenerationMatch), so a slow job of a replaced generation cannot overwrite a newer
 * one's; the summary is written only while those answers are still the job's own.
 */
import { layout, parseBatchInputName, type StorageObjectData } from '@bucketml/contracts';
import { csvInstances, jsonLineInstances, type InstanceItem, Predictor } from '@bucketml/model';
import { PreconditionFailedError } from '@bucketml/ports';
import type { PipelineContext } from './context.js';
import { loadServingModel, ModelUnavailableError } from './serving.js';

/** What a batch job leaves in <name>.summary.json. */
export interface BatchPredictionSummary {
  /** The input object and the generation answered (what makes a redelivery a no-op). */
  input: { name: string; generation: string; format: 'csv' | 'jsonl' };
  model: string;
  /** The serving version that answered; null when none could be loaded. */
  version: string | null;
  /** The answers object; null when the job could not run. */
  output: string | null;
  /** Input rows answered (one answer line each), and how many of them are error lines. */
  rows: number;
  errors: number;
  seconds: number;
  finishedAt: string;
  /** Why the job could not run (no model deployed) or stopped early (an unparseable CSV). */
  error?: string;
}

/** Answer lines per chunk handed to the writer: large enough to cost little per line. */
const LINES_PER_CHUNK = 1000;

/**
 * Runs the batch job for one finalized object under predict/<model>/; returns its summary, or
 * null when the event names no batch input, an object that is gone or a generation that has
 * been replaced (the newer one has an event of its own). Invalid rows become error lines; a
 * missing or unloadable model becomes an ERROR event and a summary saying so; storage failures
 * throw, so the trigger redelivers.
 */
export async function onBatchInput(
  ctx: PipelineContext,
  object: StorageObjectData,
): Promise<BatchPredictionSummary | null> {
  const input = parseBatchInputName(object.name);
  if (!input) return null;
  const { model, file, format } = input;
  const log = ctx.log.child({ model, stage: 'batch-predict' });
  const info = await ctx.storage.stat(object.name);
  if (!info || (object.generation !== undefined && info.generation !== object.generation)) {
    log.event('DEBUG', `ignored ${object.name}#${object.generation}: no longer current`, {
      current: info?.generation ?? null,
    });
    return null;
  }
  const job: Job = {
    input: object.name,
    generation: info.generation,
    summary: layout.batchSummary(model, file),
    output: layout.batchPredictions(model, file),
  };
  const previous = await readSummary(ctx, job.summary, log);
  if (answers(previous.summary, job)) {
    log.event('DEBUG', `duplicate delivery: ${object.name} is already answered`, {
      summary: job.summary,
      generation: info.generation,
    });
    return previous.summary;
  }
  // The answers as this job found them: it commits its own only over these.
  const seenAnswers = (await ctx.storage.stat(job.output))?.generation ?? '0';
  const started = Date.now();
  const summary = (
    fields: Omit<BatchPredictionSummary, 'input' | 'model' | 'seconds' | 'finishedAt'>,
  ) => ({
    input: { name: object.name, generation: info.generation, format },
    model,
    ...fields,
    seconds: (Date.now() - started) / 1000,
    finishedAt: new Date().toISOString(),
  });

  let served: { version: string; predictor: Predictor } | null;
  let unavailable: string | undefined;
  try {
    // Read once: the whole input is answered by one version.
    served = await loadServingModel(ctx.storage, model);
  } catch (err) {
    if (!(err instanceof ModelUnavailableError)) throw err;
    served = null;
    unavailable = `model ${model} cannot be loaded: ${err.message}`;
  }
  if (!served) {
    const error =
      unavailable ??
      `no model named ${model} is deployed: deploy one, then drop ${object.name} again`;
    const result = summary({ version: null, output: null, rows: 0, errors: 0, error });
    return finish(ctx, job, previous.generation, seenAnswers, result, log);
  }

  const stream = await ctx.storage.openRead(object.name);
  const items = format === 'csv' ? csvInstances(stream) : jsonLineInstances(stream);
  const counts = { rows: 0, errors: 0, error: undefined as string | undefined };
  let written: string;
  try {
    written = await ctx.storage.writeStream(
      job.output,
      thenCheck(answerLines(served.predictor, items, counts), () => stillCurrent(ctx, job)),
      { ifGenerationMatch: seenAnswers, contentType: 'application/x-ndjson' },
    );
  } catch (err) {
    if (!(err instanceof InputReplacedError || err instanceof PreconditionFailedError)) throw err;
    if (err instanceof InputReplacedError || !(await isCurrent(ctx, job))) {
      log.event('DEBUG', `${object.name}#${info.generation} was replaced while it was answered`, {
        output: job.output,
      });
      return null;
    }
    const now = await readSummary(ctx, job.summary, log);
    if (answers(now.summary, job)) return now.summary;
    // Another delivery's answers landed since this one looked: the redelivery starts over.
    throw new Error(`${job.output} was written by another delivery while this one ran`);
  }
  ctx.crashPoint('batch-predict:after-answers');
  return finish(
    ctx,
    job,
    previous.generation,
    written,
    summary({
      version: served.version,
      output: job.output,
      rows: counts.rows,
      errors: counts.errors,
      ...(counts.error ? { error: counts.error } : {}),
    }),
    log,
  );
}

/** The objects one job reads and writes, and the input generation it answers. */
interface Job {
  input: string;
  generation: string;
  output: string;
  summary: string;
}

/** Whether a summary records this job's input generation as answered. */
function answers(
  summary: BatchPredictionSummary | null,
  job: Job,
): summary is BatchPredictionSummary {
  return summary?.input?.name === job.input && summary.input.generation === job.generation;
}

/**
 * The summary object: its content (null when absent, or when it is not a summary: a foreign
 * or corrupt object is overwritten, not a reason to fail every delivery) and its generation.
 */
async function readSummary(
  ctx: PipelineContext,
  name: string,
  log: PipelineContext['log'],
): Promise<{ summary: BatchPredictionSummary | null; generation: string | undefined }> {
  const obj = await ctx.storage.read(name);
  if (!obj) return { summary: null, generation: undefined };
  let summary: Partial<BatchPredictionSummary> | null = null;
  try {
    summary = JSON.parse(obj.data.toString('utf8')) as Partial<BatchPredictionSummary> | null;
  } catch {
    // Left null: the check below says why.
  }
  if (typeof summary?.input?.name !== 'string' || typeof summary.input.generation !== 'string') {
    log.event('DEBUG', `${name} is not a batch summary: it will be overwritten`, {
      generation: obj.generation,
    });
    return { summary: null, generation: obj.generation };
  }
  return { summary: summary as BatchPredictionSummary, generation: obj.generation };
}

/** The input was replaced while it was read: its answers must not be committed. */
class InputReplacedError extends Error {
  override name = 'InputReplacedError';
}

async function isCurrent(ctx: PipelineContext, job: Job): Promise<boolean> {
  return (await ctx.storage.stat(job.input))?.generation === job.generation;
}

async function stillCurrent(ctx: PipelineContext, job: Job): Promise<void> {
  if (!(await isCurrent(ctx, job)))
    throw new InputReplacedError(`${job.input} is no longer at generation ${job.generation}`);
}

/**
 * The chunks, then `check` before the end: a check that throws fails the stream, so the
 * writer keeps the previous object.
 */
async function* thenCheck<T>(chunks: AsyncIterable<T>, check: () => Promise<void>) {
  yield* chunks;
  await check();
}

/**
 * The answer lines of the items, in chunks of LINES_PER_CHUNK: a valid row's answer as
 * `bucketml predict` prints it; an invalid one {"row": n, <key>, "error": …} (n counts input
 * rows from 1). Counts rows and errors as it goes; an unreadable rest of the input is the
 * last error line and `counts.error`.
 */
async function* answerLines(
  predictor: Predictor,
  items: AsyncIterable<InstanceItem>,
  counts: { rows: number; errors: number; error: string | undefined },
): AsyncGenerator<string> {
  let chunk = '';
  let lines = 0;
  for await (const item of items) {
    const row = ++counts.rows;
    let answer: object;
    if ('error' in item) {
      counts.errors++;
      answer = { row, error: item.error };
      if (item.fatal) counts.error = item.error;
    } else {
      const p = predictor.predictInstance(item.instance);
      if (p.error !== undefined) {
        counts.errors++;
        answer = { row, ...p.key, error: p.error };
      } else answer = predictor.roundedAnswer(p);
    }
    chunk += JSON.stringify(answer) + '\n';
    if (++lines === LINES_PER_CHUNK) {
      yield chunk;
      chunk = '';
      lines = 0;
    }
  }
  if (chunk) yield chunk;
}

/**
 * Writes the summary by compare-and-swap on the one this job saw (none: create-if-absent), so of
 * two deliveries running at once only one records the job; logs the job's one event. When
 * another delivery wrote the summary since, this one writes it again only while the answers
 * are still its own (`answersGeneration`) and its input still current: otherwise a newer job
 * owns both and records them.
 */
async function finish(
  ctx: PipelineContext,
  job: Job,
  seenGeneration: string | undefined,
  answersGeneration: string,
  summary: BatchPredictionSummary,
  log: PipelineContext['log'],
): Promise<BatchPredictionSummary> {
  for (let seen = seenGeneration; ;) {
    try {
      await ctx.storage.write(job.summary, JSON.stringify(summary, null, 2) + '\n', {
        ifGenerationMatch: seen ?? '0',
        contentType: 'application/json',
      });
      break;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
    const now = await readSummary(ctx, job.summary, log);
    const answersNow = (await ctx.storage.stat(job.output))?.generation ?? '0';
    if (
      answers(now.summary, job) ||
      answersNow !== answersGeneration ||
      !(await isCurrent(ctx, job))
    ) {
      log.event('DEBUG', `another delivery recorded ${job.summary} first`, {
        input: summary.input.name,
      });
      return summary;
    }
    seen = now.generation;
  }
  const figures = {
    input: summary.input.name,
    generation: summary.input.generation,
    output: summary.output,
    summary: job.summary,
    rows: summary.rows,
    errors: summary.errors,
    version: summary.version,
    seconds: summary.seconds,
  };
  if (summary.version === null)
    log.event(
      'ERROR',
      `batch prediction of ${summary.input.name} did not run: ${summary.error}`,
      figures,
    );
  else
    log.event(
      summary.error ? 'WARNING' : 'INFO',
      `batch prediction of ${summary.input.name}: ${summary.rows} row(s) answered by ${summary.version}${summary.errors ? `, ${summary.errors} invalid` : ''}${summary.error ? ` (stopped early: ${summary.error})` : ''}`,
      figures,
    );
  return summary;
}
