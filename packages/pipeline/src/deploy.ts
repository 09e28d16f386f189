/**
 * @module deploy
 * Stage 3, the validation gate: the candidate is deployed only if its RMSE on the run's eval
 * data is not worse than the serving model's on the same data. Deploying copies the model to
 * models/<model>/<version>/ (version = run id, so a retry rewrites the same files) and then
 * switches models/<model>/serving.json by compare-and-swap on the generation read before the
 * comparison: a concurrent deployment makes the swap fail and the retry compares again.
 * The candidate is always the run's own final model (from run state), never a path in the event.
 */
import {
  jobOutput,
  layout,
  type ModelCandidateEvent,
  type ServingPointer,
} from '@bucketml/contracts';
import { DataError, ModelFormatError } from '@bucketml/model';
import { finishRun, runAwaiting, type PipelineContext } from './context.js';
import { copyModelObjects, evaluateOn, readModelObjects } from './model-store.js';
import { readServingPointer } from './serving-pointer.js';

export async function onModelCandidate(
  ctx: PipelineContext,
  event: ModelCandidateEvent,
): Promise<void> {
  const log = ctx.log.child({ runId: event.runId, model: event.model, stage: 'deploy' });
  // final-training too: the candidate may be published before the run records it.
  const run = await runAwaiting(ctx, event.runId, ['gating', 'final-training'], log, 'candidate');
  if (!run?.final) return;
  const candidatePrefix = jobOutput.modelDir(run.final.outputDir);
  const version = run.runId;
  const serving = await readServingPointer(ctx.storage, run.model);
  if (serving?.pointer.version === version) {
    // A previous delivery switched the pointer and stopped before recording it: the serving
    // figure is measured again (the same models on the same data give the same number).
    const previous = serving.pointer.previousVersion;
    const servingRmse = previous
      ? await versionRmse(ctx, run.model, previous, run.data.eval).catch(() => undefined)
      : undefined;
    await finish(ctx, run.runId, serving.pointer, previous, servingRmse);
    return;
  }

  const candidate = await readModelObjects(ctx.storage, candidatePrefix);
  if (!candidate) throw new Error(`candidate model ${candidatePrefix} is incomplete`); // transient
  const candidateEval = await evaluateOn(ctx.storage, candidate, run.data.eval);
  let servingRmse: number | undefined;
  if (serving) {
    try {
      const servingModel = await readModelObjects(ctx.storage, serving.pointer.prefix);
      if (servingModel)
        servingRmse = (await evaluateOn(ctx.storage, servingModel, run.data.eval)).rmse;
    } catch (err) {
      // The serving model cannot read this data (e.g. its spec changed): it cannot compete.
      if (!(err instanceof DataError || err instanceof ModelFormatError)) throw err;
      log.event(
        'WARNING',
        `serving version ${serving.pointer.version} cannot be evaluated on this run's data: ${err.message}`,
      );
    }
  }
  const figures = {
    candidateRmse: candidateEval.rmse,
    servingRmse,
    servingVersion: serving?.pointer.version,
    evalRows: candidateEval.rows,
  };
  if (servingRmse !== undefined && candidateEval.rmse > servingRmse) {
    const reason = `candidate rmse ${candidateEval.rmse.toFixed(4)} is worse than serving version ${serving!.pointer.version}'s ${servingRmse.toFixed(4)} on this run's eval data`;
    await finishRun(
      ctx,
      run.runId,
      ['gating', 'final-training'],
      'rejected',
      {
        decision: {
          deployed: false,
          reason,
          candidateRmse: candidateEval.rmse,
          servingRmse,
          servingVersion: serving!.pointer.version,
        },
      },
      () =>
        log.event('WARNING', `candidate rejected: ${reason}`, { decision: 'rejected', ...figures }),
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
    rmse: candidateEval.rmse,
    runId: run.runId,
    deployedAt: new Date().toISOString(),
    ...(serving ? { previousVersion: serving.pointer.version } : {}),
  };
  // Throws PreconditionFailedError if another deployment won the race: redelivery re-gates.
  await ctx.storage.write(layout.servingPointer(run.model), JSON.stringify(pointer, null, 2), {
    ifGenerationMatch: serving?.generation ?? '0',
  });
  ctx.crashPoint('deploy:after-swap');
  await finish(ctx, run.runId, pointer, serving?.pointer.version, servingRmse);
}

async function versionRmse(
  ctx: PipelineContext,
  model: string,
  version: string,
  evalFiles: string[],
): Promise<number | undefined> {
  const saved = await readModelObjects(ctx.storage, layout.modelVersionPrefix(model, version));
  return saved ? (await evaluateOn(ctx.storage, saved, evalFiles)).rmse : undefined;
}

async function finish(
  ctx: PipelineContext,
  runId: string,
  pointer: ServingPointer,
  previous?: string,
  servingRmse?: number,
): Promise<void> {
  const reason = previous
    ? `rmse ${pointer.rmse.toFixed(4)} is not worse than version ${previous}'s ${servingRmse?.toFixed(4) ?? '?'}`
    : 'no model was serving';
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
        candidateRmse: pointer.rmse,
        servingRmse,
        servingVersion: previous,
      },
    },
    () =>
      ctx.log.event('NOTICE', `deployed version ${pointer.version}: ${reason}`, {
        runId,
        model: pointer.model,
        stage: 'deploy',
        decision: 'deployed',
        version: pointer.version,
        candidateRmse: pointer.rmse,
        servingRmse,
        previousVersion: previous,
      }),
  );
}
