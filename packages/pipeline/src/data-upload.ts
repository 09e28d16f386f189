/**
 * @module data-upload
 * Stage 1, on every finalized object: a drop of CSVs under data/<model>/ becomes one run. The
 * bucket's one storage trigger lands here for every object (Eventarc cannot filter by prefix),
 * so the other objects that start work are routed from here too: cancel requests, and batch
 * inputs under predict/<model>/ (batch-predict).
 */
import {
  boundedText,
  dataVersion,
  dropObjects,
  HELD_OUT_EVERY,
  isEvalFile,
  jobIdOf,
  layout,
  parseBatchInputName,
  parseCancelRequestName,
  parseDropName,
  runIdOf,
  runInputs,
  trialArgs,
  type RunRecord,
  type StorageObjectData,
  type StudySpec,
} from '@bucketml/contracts';
import { DataError, heldOutPart, problemType, SpecError, type ModelSpec } from '@bucketml/model';
import {
  checkObjectName,
  InvalidObjectNameError,
  PreconditionFailedError,
  type ObjectInfo,
} from '@bucketml/ports';
import {
  checkStudyForProblem,
  describeWarmStart,
  parseStudyDocument,
  studyForModel,
  StudySpecError,
} from '@bucketml/tuning';
import { onBatchInput } from './batch-predict.js';
import { cancelIfRunEnded, onCancelRequested } from './cancel-run.js';
import { validateDrop, writeDataReport } from './data-report.js';
import { resolveModelSpec, storageSource, type PipelineContext } from './context.js';
import { RejectedRows } from './rejected-rows.js';
import { failRun, publishRunFinished } from './run-end.js';
import { refreshRunPage } from './run-page.js';
import { warmStartFor } from './study-index.js';

const MAX_SETTLE_WAIT_MS = 120_000;

/**
 * Several files arrive as several events; each waits until the folder's listing has been still
 * for `settleMs`, then derives the data version from the object names and generations. All
 * events of one drop (and every redelivery of them) thus compute the same run id, and
 * create-if-absent on run.json lets exactly one of them start it.
 */
export async function onObjectFinalized(
  ctx: PipelineContext,
  object: StorageObjectData,
): Promise<void> {
  const refused = refusedName(object.name);
  if (refused !== null) {
    // Acknowledged, not thrown: the name will not change on redelivery. Said louder when the
    // object is in a folder of ours, where someone expected it to be read.
    const ours = /^(data|predict)\//.test(object.name);
    ctx.log.event(
      ours ? 'WARNING' : 'DEBUG',
      `ignored ${JSON.stringify(object.name)}: ${refused}`,
      {
        stage: 'data-upload',
      },
    );
    return;
  }
  const cancelled = parseCancelRequestName(object.name ?? '');
  if (cancelled) return onCancelRequested(ctx, cancelled);
  if (parseBatchInputName(object.name ?? '')) {
    await onBatchInput(ctx, object);
    return;
  }
  const drop = parseDropName(object.name ?? '');
  if (!drop) {
    ctx.log.event(
      'DEBUG',
      `ignored ${object.name}: not a CSV under data/<model>/ nor an input under predict/<model>/ (folders below them are not read)`,
      {
        stage: 'data-upload',
      },
    );
    return;
  }
  const { model } = drop;
  let listing = await settledListing(ctx, layout.dataPrefix(model));
  // A shared wait may have listed just before this event's object (or generation) landed:
  // wait once more, on a wait of its own.
  const wanted = /^\d{1,30}$/.test(object.generation ?? '') ? BigInt(object.generation!) : 0n;
  const seen = (l: ObjectInfo[]) =>
    l.some((o) => o.name === object.name && BigInt(o.generation) >= wanted);
  if (!seen(listing)) listing = await settledListing(ctx, layout.dataPrefix(model));
  const objects = dropObjects(model, listing);
  const train = objects.filter((o) => !isEvalFile(o.name)).map((o) => o.name);
  const evalFiles = objects.filter((o) => isEvalFile(o.name)).map((o) => o.name);
  const log = ctx.log.child({ model, stage: 'data-upload' });
  if (train.length === 0) {
    log.event(
      'INFO',
      `waiting for data: a run needs training CSVs in data/${model}/ (only files with eval or valid in their name are there, and those are evaluation data)`,
      {
        trainFiles: train.length,
        evalFiles: evalFiles.length,
      },
    );
    return;
  }
  // Without an evaluation file the run holds out part of the training rows (runInputs).
  const heldOut = evalFiles.length === 0 ? { every: HELD_OUT_EVERY } : undefined;
  const version = dataVersion(objects);
  const runId = runIdOf(model, version);
  // One delivery of the drop does the run's work: the one that created it (or a redelivery
  // of it, after a crash). The other files' events acknowledge at once, so a drop of N files
  // costs N listings, not N validations of the whole drop.
  const delivery = `${object.name}#${object.generation ?? ''}`;
  const { run: createdRun, created } = await ctx.runs.create({
    runId,
    model,
    createdBy: delivery,
    data: {
      version,
      train,
      eval: evalFiles,
      objects: objects.map((o) => ({ name: o.name, generation: o.generation, size: o.size })),
      inputs: 'copies',
      ...(heldOut ? { heldOut } : {}),
    },
  });
  let run = createdRun;
  const runLog = log.child({ runId });
  if (run.state !== 'received') {
    runLog.event('DEBUG', `duplicate delivery: run is already ${run.state}`, {
      object: object.name,
    });
    await publishRunFinished(ctx, run); // a crash after the run ended may have lost its run.finished
    return;
  }
  if (!created && run.createdBy !== undefined && run.createdBy !== delivery) {
    runLog.event('DEBUG', `the run is being started by the event for ${run.createdBy}`, {
      object: object.name,
    });
    return;
  }
  if (created) {
    runLog.event('INFO', `run created for ${objects.length} file(s) in data/${model}/`, {
      train,
      eval: evalFiles,
      bytes: sum(objects.map((o) => o.size)),
      page: layout.runPage(runId),
    });
    if (run.data.heldOut)
      runLog.event(
        'INFO',
        `no evaluation file in data/${model}/: 1 in ${run.data.heldOut.every} training rows, chosen by a hash of the row, is held out for evaluation (a file with eval or valid in its name chooses them instead)`,
        { heldOutEvery: run.data.heldOut.every },
      );
  }
  await refreshRunPage(ctx, runId, runLog);
  ctx.crashPoint('data-upload:after-run-created');

  // The run reads its own copies of the generations it was created for: a file overwritten
  // while the run tunes starts a run of its own and cannot change this one's data.
  for (const o of run.data.objects) {
    // A redelivery after a crash reuses the copies made (an object appears whole or not at all).
    if (await ctx.storage.stat(layout.runInput(runId, o.name))) continue;
    try {
      await ctx.storage.copy(o.name, layout.runInput(runId, o.name), o.generation);
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      const message = `${o.name} changed (generation ${o.generation} → ${err.actual ?? 'deleted'}) before the run could copy it; the new version of the drop gets a run of its own`;
      await failRun(ctx, runId, ['received'], { stage: 'data-upload', message }, runLog, {
        file: o.name,
      });
      return;
    }
  }
  // Read from the copies (or their parts), named as dropped (for the person reading an error);
  // a part's line numbers are its own, so its errors name the part.
  const sourcesOf = (r: RunRecord) => {
    const inputs = runInputs(r);
    const named = (side: 'train' | 'eval', part: string) =>
      inputs[side].map((o, i) => storageSource(ctx.storage, o, inputs.from[side][i] + part));
    return r.data.heldOut
      ? {
          inputs,
          train: named('train', ' (training part)'),
          eval: named('eval', ' (held-out part)'),
        }
      : { inputs, train: named('train', ''), eval: named('eval', '') };
  };
  let sources = sourcesOf(run);

  let study: StudySpec;
  let specObject: string | undefined;
  const rejected = new RejectedRows();
  // Kept whether the run goes on or fails over the bad-row limit.
  const keepRejected = async () => {
    if (rejected.count > 0) await ctx.storage.write(layout.rejectedRows(runId), rejected.csv());
  };
  try {
    const copies = train.map((n) => storageSource(ctx.storage, layout.runInput(runId, n), n));
    // A drop without evaluation files is split once the spec says how a file's first row is
    // read, so inference reads the training rows only.
    const prepare = async (spec: ModelSpec | null) => {
      if (!run.data.heldOut) return copies;
      // Split by an earlier delivery (the record is updated once every part is written).
      if (run.data.heldOut.withRows) return sources.train;
      const { every } = run.data.heldOut;
      const split = await splitTrainingCopies(ctx, runId, train, every, spec);
      const rows = { train: sum(split.map((s) => s.train)), eval: sum(split.map((s) => s.eval)) };
      if (rows.train === 0 || rows.eval === 0)
        throw new DataError(
          `${train.join(', ')}: ${rows.train + rows.eval} row(s) are too few to hold out 1 in ${every} for evaluation (${rows.eval} held out, ${rows.train} left to train on); drop more rows, or an evaluation file (eval or valid in its name)`,
          train.length === 1 ? train[0] : undefined,
        );
      const withRows = {
        train: train.filter((_, i) => split[i].train > 0),
        eval: train.filter((_, i) => split[i].eval > 0),
      };
      run =
        (await ctx.runs.update(runId, {
          data: { ...run.data, heldOut: { every, withRows, rows } },
        })) ?? run;
      sources = sourcesOf(run);
      return sources.train;
    };
    const resolved = await resolveModelSpec(ctx, model, runId, copies, prepare);
    specObject = resolved.specObject;
    const { inferred } = resolved.spec;
    if (inferred) {
      const roles = (role: string) =>
        inferred.columns.filter((c) => c.role === role).map((c) => c.name);
      runLog.event(
        'INFO',
        `schema inferred from ${inferred.rows} rows: ${roles('numeric').length} numeric, ${roles('categorical').length} categorical, ${roles('date').length} date column(s)`,
        {
          spec: specObject,
          numeric: roles('numeric'),
          categorical: roles('categorical'),
          dates: roles('date'),
          key: resolved.spec.key,
          dropped: roles('dropped'),
          notes: inferred.notes.slice(0, 20),
        },
      );
    }
    const {
      train: trainData,
      eval: evalData,
      profiler,
    } = await validateDrop(resolved.spec, sources.train, sources.eval, rejected.add);
    await keepRejected();
    const badRowReasons: Record<string, number> = { ...trainData.badRowReasons };
    for (const [k, n] of Object.entries(evalData.badRowReasons))
      badRowReasons[k] = (badRowReasons[k] ?? 0) + n;
    const unlabelled = trainData.unlabelledRows + evalData.unlabelledRows;
    runLog.event(
      'INFO',
      `data validated: ${trainData.size} training and ${evalData.size} evaluation rows${trainData.badRows + evalData.badRows ? `, ${trainData.badRows + evalData.badRows} unusable` : ''}${unlabelled ? `, ${unlabelled} without a label skipped` : ''}`,
      {
        trainRows: trainData.size,
        evalRows: evalData.size,
        unlabelledRows: unlabelled,
        badRows: trainData.badRows + evalData.badRows,
        badRowReasons,
        badRowSamples: [...trainData.badRowSamples, ...evalData.badRowSamples].slice(0, 5),
        ...(rejected.count > 0 ? { rejectedRows: layout.rejectedRows(runId) } : {}),
      },
    );
    const dataReport = await writeDataReport(
      ctx,
      runId,
      model,
      resolved.spec,
      { profiler, header: trainData.header },
      {
        read: trainData.rowsRead + evalData.rowsRead,
        used: trainData.size + evalData.size,
        rejected: trainData.badRows + evalData.badRows,
        rejectedByReason: badRowReasons,
      },
      runLog,
    );
    if (dataReport.verdict === 'blocked') {
      const figures = dataReport
        .drift!.features.filter((f) => f.drifted && f.blocking)
        .map((f) => `${f.name} (${f.reasons.join('; ')})`);
      const message = `data drift in ${figures.join(', ')}, which the spec makes blocking (${layout.dataReport(runId)}); the serving model keeps serving`;
      await failRun(ctx, runId, ['received'], { stage: 'data-upload', message }, runLog);
      return;
    }
    const config = await ctx.storage.read(layout.hyperparamConfig(model));
    const problem = problemType(resolved.spec);
    study = config
      ? parseStudyDocument(config.data.toString('utf8'))
      : studyForModel(model, resolved.spec.hyperparameters, problem);
    checkStudyForProblem(study, problem);
  } catch (err) {
    if (err instanceof DataError) await keepRejected();
    if (err instanceof DataError || err instanceof SpecError || err instanceof StudySpecError) {
      const message = boundedText(err.message);
      const at = err instanceof DataError ? { file: err.file, line: err.line } : {};
      await failRun(ctx, runId, ['received'], { stage: 'data-upload', message, ...at }, runLog, {
        file: at.file,
      });
      return;
    }
    throw err;
  }

  const jobId = jobIdOf(runId, 'study');
  const args = trialArgs(study.args, study.metricTag);
  const warmStart = await warmStartFor(ctx, run, study, runLog);
  // What the record, the event and its line say of it: the trials counted, not listed.
  const warmSummary = { ...warmStart, trials: warmStart.trials.length };
  const submitted = await ctx.training.submitStudy({
    jobId,
    runId,
    model,
    ...(specObject ? { specObject } : {}),
    trainData: sources.inputs.train,
    evalData: sources.inputs.eval,
    args,
    outputDir: layout.trialsDir(runId),
    goal: study.goal,
    metricTag: study.metricTag,
    maxTrials: study.maxTrials,
    maxParallelTrials: study.maxParallelTrials,
    maxFailedTrials: study.maxFailedTrials,
    enableTrialEarlyStopping: study.enableTrialEarlyStopping,
    algorithm: study.algorithm,
    params: study.params,
    seed: ctx.seed,
    ...(warmStart.trials.length ? { warmStartFrom: warmStart } : {}),
  });
  ctx.crashPoint('data-upload:after-submit');
  const moved = await ctx.runs.advance(runId, ['received'], 'tuning', {
    ...(specObject ? { specObject } : {}),
    study: {
      jobId,
      maxTrials: study.maxTrials,
      maxParallelTrials: study.maxParallelTrials,
      metricTag: study.metricTag,
      goal: study.goal,
      args,
      finalArgs: study.finalArgs,
      params: study.params,
      warmStart: warmSummary,
    },
  });
  if (!moved) await cancelIfRunEnded(ctx, runId, jobId);
  else {
    runLog.event(
      'INFO',
      `tuning started: ${study.maxTrials} trials, ${study.maxParallelTrials} in parallel`,
      {
        jobId,
        newJob: submitted.created,
        params: study.params.map((p) => p.name),
        goal: study.goal,
        metricTag: study.metricTag,
      },
    );
    runLog.event('INFO', describeWarmStart(warmSummary), { warmStart: warmSummary });
    await refreshRunPage(ctx, runId, runLog);
  }
}

/** Why an event's object name is one no adapter can read (a backslash, '..'), or null. */
function refusedName(name: unknown): string | null {
  if (typeof name !== 'string' || name === '') return null; // ignored below as no drop
  try {
    checkObjectName(name);
    return null;
  } catch (err) {
    if (!(err instanceof InvalidObjectNameError)) throw err;
    return "BucketML reads objects named as relative paths, without backslashes, control characters or empty, '.' or '..' segments";
  }
}

/**
 * Each training copy of a drop without evaluation files as its two parts (layout.runSplitPart).
 * The parts are a function of the copy, so a redelivery after a crash that finds one missing
 * writes it again (each object appears whole or not at all) and counts those it finds.
 */
async function splitTrainingCopies(
  ctx: PipelineContext,
  runId: string,
  train: string[],
  every: number,
  spec: ModelSpec | null,
): Promise<{ train: number; eval: number }[]> {
  const read = async (name: string) => (await ctx.storage.openRead(name)) as AsyncIterable<Buffer>;
  const counts = [];
  for (const file of train) {
    const rows = { train: { rows: 0 }, eval: { rows: 0 } };
    for (const part of ['eval', 'train'] as const) {
      const target = layout.runSplitPart(runId, file, part);
      const split = (source: AsyncIterable<Buffer>) =>
        heldOutPart(source, { part, every, spec, file, counted: rows[part] });
      if (await ctx.storage.stat(target)) {
        // Written by an earlier delivery: only its rows are counted (a part splits to itself).
        for await (const chunk of split(await read(target))) void chunk;
        continue;
      }
      await ctx.storage.writeStream(target, split(await read(layout.runInput(runId, file))));
    }
    counts.push({ train: rows.train.rows, eval: rows.eval.rows });
  }
  return counts;
}

/**
 * The settle waits in progress, by storage and prefix: the N events of one drop that reach one
 * instance share one wait (one listing per poll, not N), so a drop of 100 files settles as
 * fast as one. An event arriving after the shared wait ended starts a new one.
 */
const settling = new WeakMap<object, Map<string, Promise<ObjectInfo[]>>>();

/** Lists a prefix once its newest object is at least ctx.settleMs old (the drop is complete). */
function settledListing(ctx: PipelineContext, prefix: string): Promise<ObjectInfo[]> {
  const waits = settling.get(ctx.storage) ?? new Map<string, Promise<ObjectInfo[]>>();
  settling.set(ctx.storage, waits);
  let wait = waits.get(prefix);
  if (!wait) {
    wait = waitUntilSettled(ctx, prefix).finally(() => waits.delete(prefix));
    waits.set(prefix, wait);
  }
  return wait;
}

async function waitUntilSettled(ctx: PipelineContext, prefix: string): Promise<ObjectInfo[]> {
  const started = Date.now();
  const newest = (l: ObjectInfo[]) => Math.max(0, ...l.map((o) => o.updated.getTime()));
  let listing = await ctx.storage.list(prefix);
  while (Date.now() - newest(listing) < ctx.settleMs && Date.now() - started < MAX_SETTLE_WAIT_MS) {
    await new Promise((r) => setTimeout(r, Math.min(250, ctx.settleMs)));
    listing = await ctx.storage.list(prefix);
  }
  return listing;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
