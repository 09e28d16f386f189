/**
 * @module deploy
 * Stage 3, the validation gate: the candidate is deployed only if its value of the study's
 * metric (rmse; logloss, accuracy, auc, f1_macro) on the run's eval data is not worse than the
 * serving model's on the same data, and only if it predicts the same thing: a candidate whose
 * problem type or class list differs from the serving model's is refused, saying what changed.
 * Deploying copies the model to models/<model>/<version>/ (version = run id, so a retry
 * rewrites the same files) and then switches models/<model>/serving.json by compare-and-swap
 * on the generation read before the comparison: a concurrent deployment makes the swap fail
 * and the retry compares again. The candidate is always the run's own final model (from run
 * state), never a path in the event.
 */
import {
  jobOutput,
  layout,
  METRICS_BY_PROBLEM,
  runInputs,
  type Goal,
  type ModelCandidateEvent,
  type RunRecord,
  type ServingPointer,
} from '@bucketml/contracts';
import { DataError, ModelFormatError, problemType, type SavedModel } from '@bucketml/model';
import type { PipelineContext } from './context.js';
import type { Logger } from './logger.js';
import { copyModelObjects, evaluateOn, readModelObjects } from './model-store.js';
import { recordDeployment } from './models-page.js';
import { failRun, finishRun, runAwaiting } from './run-end.js';
import { recordServingChange, servingChangeOf } from './serving-history.js';
import { readServingPointer } from './serving-pointer.js';
import { trainedRows, type RowHashes } from './trained-rows.js';

/** The gate's measure: the study's metric tag and goal (a run without a study: rmse). */
function gateMetric(run: RunRecord): { tag: string; goal: Goal } {
  return run.study
    ? { tag: run.study.metricTag, goal: run.study.goal }
    : { tag: 'rmse', goal: METRICS_BY_PROBLEM.regression.rmse };
}

/** What the candidate predicts that the serving model does not (undefined: the same). */
function predictionChange(candidate: SavedModel, serving: SavedModel): string | undefined {
  const [now, before] = [problemType(candidate.meta.spec), problemType(serving.meta.spec)];
  if (now !== before)
    return `the label ${candidate.meta.spec.label.name} is now a ${now} target; the serving model is a ${before} one`;
  const [a, b] = [candidate.meta.spec.label.classes ?? [], serving.meta.spec.label.classes ?? []];
  if (a.join('\u0000') === b.join('\u0000')) return undefined;
  const added = a.filter((c) => !b.includes(c));
  const gone = b.filter((c) => !a.includes(c));
  return `the class list changed (${[
    added.length ? `new: ${added.join(', ')}` : '',
    gone.length ? `gone: ${gone.join(', ')}` : '',
    !added.length && !gone.length ? 'same classes in another order' : '',
  ]
    .filter(Boolean)
    .join('; ')})`;
}

export async function onModelCandidate(
  ctx: PipelineContext,
  event: ModelCandidateEvent,
): Promise<void> {
  const log = ctx.log.child({ runId: event.runId, model: event.model, stage: 'deploy' });
  // final-training too: the candidate may be published before the run records it.
  const run = await runAwaiting(ctx, event.runId, ['gating', 'final-training'], log, 'candidate');
  if (!run?.final) return;
  const metric = gateMetric(run);
  const worse = (a: number, b: number) => (metric.goal === 'MINIMIZE' ? a > b : a < b);
  const candidatePrefix = jobOutput.modelDir(run.final.outputDir);
  const version = run.runId;
  const evalData = runInputs(run).eval;
  const serving = await readServingPointer(ctx.storage, run.model);
  if (serving?.pointer.version === version) {
    // A previous delivery switched the pointer and stopped before recording it: the serving
    // figure is measured again (the same models on the same data give the same number).
    const previous = serving.pointer.previousVersion;
    const deployed = await readModelObjects(
      ctx.storage,
      layout.modelVersionPrefix(run.model, version),
    ).catch(() => null);
    const measured = deployed
      ? await measureCandidate(ctx, deployed, evalData, previous, log).catch(() => undefined)
      : undefined;
    const previousEval = previous
      ? await versionEvaluation(ctx, run.model, previous, evalData, measured?.leaveOut).catch(
          () => undefined,
        )
      : undefined;
    const candidateEval = measured?.candidateEval;
    await finish(
      ctx,
      run.runId,
      serving.pointer,
      serving.generation,
      previous,
      previousEval?.values[metric.tag],
      candidateEval,
    );
    return;
  }

  const candidate = await readModelObjects(ctx.storage, candidatePrefix);
  if (!candidate) throw new Error(`candidate model ${candidatePrefix} is incomplete`); // transient
  const { candidateEval, leaveOut } = await measureCandidate(
    ctx,
    candidate,
    evalData,
    serving?.pointer.version,
    log,
  );
  const candidateValue = candidateEval.values[metric.tag];
  const reject = async (reason: string, figures: Record<string, unknown>) =>
    finishRun(
      ctx,
      run.runId,
      ['gating', 'final-training'],
      'rejected',
      {
        decision: {
          deployed: false,
          reason,
          metric: metric.tag,
          ...(candidateValue !== undefined ? { candidateValue } : {}),
          ...(figures.servingValue !== undefined
            ? { servingValue: figures.servingValue as number }
            : {}),
          servingVersion: serving!.pointer.version,
          evalRows: candidateEval.rows,
          ...leftOutOf(candidateEval),
        },
      },
      () =>
        log.event('WARNING', `candidate rejected: ${reason}`, {
          decision: 'rejected',
          evalRows: candidateEval.rows,
          ...figures,
        }),
    );
  let servingValue: number | undefined;
  if (serving) {
    let servingModel: SavedModel | null = null;
    try {
      servingModel = await readModelObjects(ctx.storage, serving.pointer.prefix);
    } catch (err) {
      if (!(err instanceof ModelFormatError)) throw err;
      log.event(
        'WARNING',
        `serving version ${serving.pointer.version} cannot be evaluated: its model cannot be read (${err.message})`,
      );
    }
    const change = servingModel ? predictionChange(candidate, servingModel) : undefined;
    if (change) {
      await reject(
        `${change}: a model that predicts something else does not replace version ${serving.pointer.version} (it keeps serving); deploy it under another model name, or move the serving pointer by hand`,
        { servingVersion: serving.pointer.version, metric: metric.tag, candidateValue },
      );
      return;
    }
    if (servingModel) {
      try {
        const servingEval = await evaluateOn(ctx.storage, servingModel, evalData, leaveOut);
        servingValue = servingEval.values[metric.tag];
      } catch (err) {
        // The serving model cannot read this data (e.g. its spec changed): it cannot compete.
        if (!(err instanceof DataError || err instanceof ModelFormatError)) throw err;
        log.event(
          'WARNING',
          `serving version ${serving.pointer.version} cannot be evaluated on this run's data: ${err.message}`,
        );
      }
    }
  }
  if (candidateValue === undefined) {
    // Permanent (the study was checked against the spec's problem type): fail, do not retry.
    await failRun(
      ctx,
      run.runId,
      ['gating', 'final-training'],
      {
        stage: 'deploy',
        message: `the candidate does not report ${metric.tag}, the study's metric (it reports ${Object.keys(candidateEval.values).join(', ')})`,
      },
      log,
    );
    return;
  }
  const figures = {
    metric: metric.tag,
    candidateValue,
    servingValue,
    servingVersion: serving?.pointer.version,
    evalRows: candidateEval.rows,
  };
  if (servingValue !== undefined && worse(candidateValue, servingValue)) {
    await reject(
      `candidate ${metric.tag} ${candidateValue.toFixed(4)} is worse than serving version ${serving!.pointer.version}'s ${servingValue.toFixed(4)} on this run's eval data (${candidateEval.rows} rows${candidateEval.leftOut ? `; ${candidateEval.leftOut} it trained on left out` : ''})`,
      figures,
    );
    return;
  }

  const prefix = layout.modelVersionPrefix(run.model, version);
  await copyModelObjects(ctx.storage, candidatePrefix, prefix);
  ctx.crashPoint('deploy:after-copy');
  const pointer: ServingPointer = {
    model: run.model,
    version,
    prefix,
    metric: metric.tag,
    value: candidateValue,
    runId: run.runId,
    deployedAt: new Date().toISOString(),
    ...(serving ? { previousVersion: serving.pointer.version } : {}),
  };
  // Throws PreconditionFailedError if another deployment won the race: redelivery re-gates.
  const generation = await ctx.storage.write(
    layout.servingPointer(run.model),
    JSON.stringify(pointer, null, 2),
    { ifGenerationMatch: serving?.generation ?? '0' },
  );
  ctx.crashPoint('deploy:after-swap');
  await finish(
    ctx,
    run.runId,
    pointer,
    generation,
    serving?.pointer.version,
    servingValue,
    candidateEval,
  );
}

/** A deployed version's metrics on eval objects (undefined: its model is not there). */
async function versionEvaluation(
  ctx: PipelineContext,
  model: string,
  version: string,
  evalFiles: string[],
  leaveOut: RowHashes | null = null,
): Promise<Evaluation | undefined> {
  const saved = await readModelObjects(ctx.storage, layout.modelVersionPrefix(model, version));
  return saved ? await evaluateOn(ctx.storage, saved, evalFiles, leaveOut) : undefined;
}

type Evaluation = Awaited<ReturnType<typeof evaluateOn>>;

/**
 * The candidate measured for the gate, and the rows left out of the comparison: those the
 * serving version trained on (trained-rows.ts), scored on which it would look better than it
 * is — unless that is every evaluation row; then all are used, and a WARNING says the
 * comparison favours the serving version.
 */
async function measureCandidate(
  ctx: PipelineContext,
  candidate: SavedModel,
  evalData: string[],
  servingVersion: string | undefined,
  log: Logger,
): Promise<{ candidateEval: Evaluation; leaveOut: RowHashes | null }> {
  const trained = servingVersion ? await trainedRows(ctx, servingVersion) : null;
  const evaluation = await evaluateOn(ctx.storage, candidate, evalData, trained);
  if (!trained || evaluation.leftOut === 0) return { candidateEval: evaluation, leaveOut: null };
  const total = evaluation.rows + evaluation.leftOut;
  if (evaluation.rows === 0) {
    log.event(
      'WARNING',
      `all ${total} evaluation rows were in serving version ${servingVersion}'s training data: both versions are compared on them, which favours it`,
    );
    return { candidateEval: await evaluateOn(ctx.storage, candidate, evalData), leaveOut: null };
  }
  log.event(
    'INFO',
    `${evaluation.leftOut} of ${total} evaluation rows were in serving version ${servingVersion}'s training data: both versions are compared on the other ${evaluation.rows}`,
    { evalRowsLeftOut: evaluation.leftOut },
  );
  return { candidateEval: evaluation, leaveOut: trained };
}

/** The decision's count of left-out rows, when there are any. */
const leftOutOf = (e: Pick<Evaluation, 'leftOut'> | undefined) =>
  e?.leftOut ? { evalRowsLeftOut: e.leftOut } : {};

async function finish(
  ctx: PipelineContext,
  runId: string,
  pointer: ServingPointer,
  pointerGeneration: string,
  previous: string | undefined,
  servingValue: number | undefined,
  candidateEval: Evaluation | undefined,
): Promise<void> {
  const evalRows = candidateEval?.rows;
  const leftOut = candidateEval?.leftOut
    ? ` (${candidateEval.leftOut} it trained on left out)`
    : '';
  const reason = previous
    ? `${pointer.metric} ${pointer.value.toFixed(4)} is not worse than version ${previous}'s ${servingValue?.toFixed(4) ?? '?'}${evalRows !== undefined ? ` on ${evalRows} eval rows${leftOut}` : ''}`
    : 'no model was serving';
  // The serving history (a contract rollback reads): a failure here is retried with the event.
  await recordServingChange(ctx.storage, {
    ...servingChangeOf(pointer, pointerGeneration),
    ...(servingValue !== undefined ? { fromValue: servingValue } : {}),
    ...(evalRows !== undefined ? { evalRows } : {}),
    note: reason,
  });
  // The models page first: the run page, rewritten as the run ends, links to it.
  await recordDeployment(
    ctx,
    pointer.model,
    {
      version: pointer.version,
      runId,
      metric: pointer.metric,
      value: pointer.value,
      ...(candidateEval ? { metrics: candidateEval.values } : {}),
      ...(evalRows !== undefined ? { evalRows } : {}),
      deployedAt: pointer.deployedAt,
      ...(previous ? { previousVersion: previous } : {}),
      ...(servingValue !== undefined ? { servingValue } : {}),
    },
    ctx.log.child({ runId, model: pointer.model, stage: 'deploy' }),
  );
  await finishRun(
    ctx,
    runId,
    ['gating', 'final-training'],
    'deployed',
    {
      version: pointer.version,
      decision: {
        deployed: true,
        reason,
        metric: pointer.metric,
        candidateValue: pointer.value,
        servingValue,
        servingVersion: previous,
        ...(evalRows !== undefined ? { evalRows } : {}),
        ...leftOutOf(candidateEval),
      },
    },
    () =>
      ctx.log.event('NOTICE', `deployed version ${pointer.version}: ${reason}`, {
        runId,
        model: pointer.model,
        stage: 'deploy',
        decision: 'deployed',
        version: pointer.version,
        metric: pointer.metric,
        candidateValue: pointer.value,
        servingValue,
        previousVersion: previous,
        evalRows,
      }),
  );
}
