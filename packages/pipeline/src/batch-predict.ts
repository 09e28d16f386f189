/**
 * @module batch-predict
 * Batch prediction by drop: an object under predict/<model>/ (a CSV with a header, or JSON lines
 * of instances) is answered row by row by the model's serving version, into
 * predictions/<model>/<name>.jsonl (one line per input row, in order), then a summary
 * (<name>.summary.json: rows, errors, the version used, the input's generation).
 *
 * Streaming: the input is read as a stream and the answers written as one (Storage.writeStream),
 * pulled a chunk at a time, so memory does not grow with the input. The answers object appears
 * whole or not at all, and the summary is written after it: a summary for the input's
 * generation means the job is done, and a redelivery of that generation writes nothing; a
 * crash before it means a redelivery redoes the job from the start, overwriting.
 */
import { layout, parseBatchInputName, type StorageObjectData } from '@bucketml/contracts';
import { csvInstances, jsonLineInstances, type InstanceItem, Predictor } from '@bucketml/model';
import { PreconditionFailedError } from '@bucketml/ports';
import type { PipelineContext } from './context.js';
import { ModelServer, ModelUnavailableError } from './serving.js';

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
 * missing model becomes an ERROR event and a summary saying so; storage failures throw, so the
 * trigger redelivers.
 */
export async function onBatchInput(
  ctx: PipelineContext,
  object: StorageObjectData,
): Promise<BatchPredictionSummary | null> {
  const input = parseBatchInputName(object.name);
  if (!input) return null;
  const { model, name, format } = input;
  const log = ctx.log.child({ model, stage: 'batch-predict' });
  const info = await ctx.storage.stat(object.name);
  if (!info || (object.generation !== undefined && info.generation !== object.generation)) {
    log.event('DEBUG', `ignored ${object.name}#${object.generation}: no longer current`, {
      current: info?.generation ?? null,
    });
    return null;
  }
  const summaryName = layout.batchSummary(model, name);
  const previous = await ctx.storage.read(summaryName);
  if (previous) {
    const done = JSON.parse(previous.data.toString('utf8')) as BatchPredictionSummary;
    if (done.input.name === object.name && done.input.generation === info.generation) {
      log.event('DEBUG', `duplicate delivery: ${object.name} is already answered`, {
        summary: summaryName,
        generation: info.generation,
      });
      return done;
    }
  }
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
    // A server of its own, read once: the whole input is answered by one version.
    served = await new ModelServer(ctx.storage, 0).get(model);
  } catch (err) {
    if (!(err instanceof ModelUnavailableError)) throw err;
    served = null;
    unavailable = err.message;
  }
  if (!served) {
    const error =
      unavailable ??
      `no model named ${model} is deployed: deploy one, then drop ${object.name} again`;
    const result = summary({ version: null, output: null, rows: 0, errors: 0, error });
    return finish(ctx, summaryName, previous?.generation, result, log);
  }

  const output = layout.batchPredictions(model, name);
  const stream = await ctx.storage.openRead(object.name);
  const items = format === 'csv' ? csvInstances(stream) : jsonLineInstances(stream);
  const counts = { rows: 0, errors: 0, error: undefined as string | undefined };
  await ctx.storage.writeStream(output, answerLines(served.predictor, items, counts), {
    contentType: 'application/x-ndjson',
  });
  ctx.crashPoint('batch-predict:after-answers');
  return finish(
    ctx,
    summaryName,
    previous?.generation,
    summary({
      version: served.version,
      output,
      rows: counts.rows,
      errors: counts.errors,
      ...(counts.error ? { error: counts.error } : {}),
    }),
    log,
  );
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
 * two deliveries running at once only one records the job; logs the job's one event.
 */
async function finish(
  ctx: PipelineContext,
  summaryName: string,
  seenGeneration: string | undefined,
  summary: BatchPredictionSummary,
  log: PipelineContext['log'],
): Promise<BatchPredictionSummary> {
  try {
    await ctx.storage.write(summaryName, JSON.stringify(summary, null, 2) + '\n', {
      ifGenerationMatch: seenGeneration ?? '0',
      contentType: 'application/json',
    });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    log.event('DEBUG', `another delivery recorded ${summaryName} first`, {
      input: summary.input.name,
    });
    return summary;
  }
  const figures = {
    input: summary.input.name,
    generation: summary.input.generation,
    output: summary.output,
    summary: summaryName,
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
