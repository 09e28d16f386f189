/**
 * @module job-completed
 * Stage 2, on job events from the training backend:
 * - trial.completed: one log event per trial (the study's progress);
 * - study.completed: analyse the trials (report.json / report.txt, sorted by objective) and
 *   submit the final training with the best trial's hyperparameters;
 * - training.completed: publish the trained model as a deployment candidate.
 * Each step checks the run's state first and does nothing if the run has moved on; the job it
 * acts on is the one run state names, whatever the event says.
 */
import {
  explainEarlyStop,
  finalTrainingArgs,
  isJobFinished,
  jobIdOf,
  jobOutput,
  layout,
  runInputs,
  TOPICS,
  type JobEvent,
  type ModelCandidateEvent,
  type RunRecord,
  type RunStateName,
  type StudyCompletedEvent,
  type TrainingCompletedEvent,
} from '@bucketml/contracts';
import { modelMetric, type ModelMetadata } from '@bucketml/model';
import { analyzeTrials, formatReport } from '@bucketml/tuning';
import type { PipelineContext } from './context.js';
import { cancelIfRunEnded } from './cancel-run.js';
import type { Logger } from './logger.js';
import { readModelObjects } from './model-store.js';
import { failRun, runAwaiting } from './run-end.js';
import { refreshRunPage } from './run-page.js';
import { recordStudyInIndex } from './study-index.js';

export async function onJobEvent(ctx: PipelineContext, event: JobEvent): Promise<void> {
  const log = ctx.log.child({ runId: event.runId, model: event.model });
  switch (event.type) {
    case 'trial.completed': {
      // The page first: the run it is built from names the metric that explains an early stop
      // (the event carries figures, not the study), so the run is read once.
      const page = await refreshRunPage(ctx, event.runId, log);
      const why = event.earlyStop
        ? ` (${explainEarlyStop(event.earlyStop, page?.study?.metricTag ?? 'objective')})`
        : event.state === 'FAILED' && event.error
          ? `: ${event.error.slice(0, 300)}`
          : '';
      log.event(
        event.state === 'FAILED' ? 'WARNING' : 'INFO',
        `trial ${event.trialId} ${event.state.toLowerCase()}${event.objective !== undefined ? `: objective ${event.objective.toFixed(4)}` : ''}${why}`,
        {
          stage: 'trial',
          trialId: event.trialId,
          state: event.state,
          parameters: event.parameters,
          objective: event.objective,
          seconds: event.seconds,
          error: event.error,
          earlyStop: event.earlyStop,
        },
      );
      return;
    }
    case 'study.completed':
      return onStudyCompleted(ctx, event);
    case 'training.completed':
      return onTrainingCompleted(ctx, event);
  }
}

/**
 * The run a job event is for, when the run awaits it (`state`) and the event's job is the one
 * run state names; otherwise null, after a log line.
 */
async function runOfJob(
  ctx: PipelineContext,
  event: StudyCompletedEvent | TrainingCompletedEvent,
  state: RunStateName,
  stage: string,
  jobOf: (run: RunRecord) => string | undefined,
): Promise<{ run: RunRecord; log: Logger } | null> {
  const log = ctx.log.child({ runId: event.runId, model: event.model, stage });
  const what = event.type === 'study.completed' ? 'study event' : 'training event';
  const run = await runAwaiting(ctx, event.runId, [state], log, what);
  const expected = run ? jobOf(run) : undefined;
  if (!run || !expected) return null;
  if (event.jobId !== expected) {
    log.event('WARNING', `${what} for job ${event.jobId} ignored: the run's job is ${expected}`);
    return null;
  }
  return { run, log };
}

async function onStudyCompleted(ctx: PipelineContext, event: StudyCompletedEvent): Promise<void> {
  const found = await runOfJob(ctx, event, 'tuning', 'analysis', (r) => r.study?.jobId);
  if (!found) return;
  const { run, log } = found;
  if (!run.study) return;
  // The backend's word on the study, not the event's: a forged "finished" cannot end a study.
  const study = await ctx.training.getStudy(run.study.jobId);
  if (!study) throw new Error(`study ${run.study.jobId} not found on the training backend`); // transient: retry
  if (!isJobFinished(study.state)) {
    log.event(
      'WARNING',
      `study event ignored: the training backend reports study ${study.jobId} ${study.state}`,
    );
    return;
  }
  const report = analyzeTrials(study.trials, run.study.goal, run.study.metricTag);
  const warmStart = run.study.warmStart ? { warmStart: run.study.warmStart } : {};
  await ctx.storage.write(
    layout.report(run.runId),
    JSON.stringify({ ...report, ...warmStart }, null, 2),
  );
  await ctx.storage.write(layout.reportText(run.runId), formatReport(report));
  // Before the run moves on, so a redelivery after a crash still records it (idempotent).
  await recordStudyInIndex(ctx, run, study.trials);
  ctx.crashPoint('job-completed:after-report');
  if (!report.best || study.state !== 'SUCCEEDED') {
    const reason = report.best
      ? `study failed: ${study.error ?? 'unknown error'}`
      : `no trial succeeded (${report.failed} failed)${study.error ? `: ${study.error}` : ''}`;
    await failRun(ctx, run.runId, ['tuning'], { stage: 'analysis', message: reason }, log, {
      succeeded: report.succeeded,
      failed: report.failed,
    });
    return;
  }
  const best = report.best;
  const jobId = jobIdOf(run.runId, 'final');
  const outputDir = layout.finalDir(run.runId);
  const inputs = runInputs(run);
  await ctx.training.submitTraining({
    jobId,
    runId: run.runId,
    model: run.model,
    ...(run.specObject ? { specObject: run.specObject } : {}),
    trainData: inputs.train,
    evalData: inputs.eval,
    args: finalTrainingArgs(run.study.finalArgs, run.study.metricTag),
    outputDir,
    parameters: best.parameters,
    seed: ctx.seed,
  });
  const moved = await ctx.runs.advance(run.runId, ['tuning'], 'final-training', {
    best: { trialId: best.id, objective: best.objective, parameters: best.parameters },
    final: { jobId, outputDir },
  });
  if (!moved) await cancelIfRunEnded(ctx, run.runId, jobId);
  else {
    log.event(
      'INFO',
      `trials analysed: best trial ${best.id} (${report.metricTag} ${best.objective.toFixed(4)}); final training submitted`,
      {
        best: { trialId: best.id, objective: best.objective, parameters: best.parameters },
        succeeded: report.succeeded,
        failed: report.failed,
        stopped: report.stopped,
        report: layout.report(run.runId),
        ranking: report.trials
          .slice(0, 5)
          .map((t) => ({ trialId: t.id, objective: t.objective, parameters: t.parameters })),
      },
    );
    await refreshRunPage(ctx, run.runId, log);
  }
}

async function onTrainingCompleted(
  ctx: PipelineContext,
  event: TrainingCompletedEvent,
): Promise<void> {
  const found = await runOfJob(
    ctx,
    event,
    'final-training',
    'final-training',
    (r) => r.final?.jobId,
  );
  if (!found?.run.final) return;
  const { run, log } = found;
  const final = found.run.final;
  // The backend's word on the job, not the event's: a forged "finished" cannot end the run.
  const job = await ctx.training.getTraining(final.jobId);
  if (!job) throw new Error(`training ${final.jobId} not found on the training backend`); // transient: retry
  if (!isJobFinished(job.state)) {
    log.event(
      'WARNING',
      `training event ignored: the training backend reports job ${final.jobId} ${job.state}`,
    );
    return;
  }
  // The model's own metrics are the figure, whichever backend trained it (Vertex reports none).
  const modelDir = jobOutput.modelDir(final.outputDir);
  const trained = job.state === 'SUCCEEDED' ? await readModelObjects(ctx.storage, modelDir) : null;
  const metric = run.study?.metricTag ?? 'rmse';
  const value = trained ? modelMetric(trained.meta, metric) : undefined;
  if (!trained || value === undefined) {
    const reason = !trained
      ? `final training failed: ${job.error ?? `no complete model in ${modelDir}`}`
      : `final training's model does not report ${metric} (it reports ${Object.keys(trained.meta.metrics.values ?? { rmse: 0 }).join(', ')})`;
    await failRun(
      ctx,
      run.runId,
      ['final-training'],
      { stage: 'final-training', message: reason },
      log,
    );
    return;
  }
  await recordFinalMetrics(ctx, run.runId, trained.meta);
  const candidate: ModelCandidateEvent = {
    type: 'model.candidate',
    runId: run.runId,
    model: run.model,
    metric,
    value,
  };
  await ctx.messaging.publish(TOPICS.modelCandidates, candidate, {
    runId: event.runId,
    type: candidate.type,
  });
  const moved = await ctx.runs.advance(event.runId, ['final-training'], 'gating', {
    final: { ...final, metric, value },
  });
  if (moved) {
    const { values, confusion } = trained.meta.metrics;
    log.event(
      'INFO',
      `final training done: eval ${metric} ${value.toFixed(4)}; candidate sent to the validation gate`,
      {
        metric,
        value,
        ...(values ? { metrics: values } : {}),
        ...(confusion ? { confusion, classes: trained.meta.spec.label.classes } : {}),
        modelDir,
        examples: trained.meta.training.examples,
        stopReason: trained.meta.training.stopReason,
      },
    );
    if (trained.meta.training.stillImproving) {
      log.event(
        'WARNING',
        `the final model's eval ${metric} was still improving when its budget ran out: a larger --train_examples in the study's args would probably give a better model`,
        { metric, value, examples: trained.meta.training.examples },
      );
    }
    await refreshRunPage(ctx, run.runId, log);
  }
}

/**
 * Adds the final model's eval metrics to the run's report (report.json, written when the study
 * was analysed): every metric of its problem type and, for a classifier, the confusion matrix
 * with its classes. Rewriting the same figures on a redelivery changes nothing.
 */
async function recordFinalMetrics(
  ctx: PipelineContext,
  runId: string,
  meta: ModelMetadata,
): Promise<void> {
  const existing = await ctx.storage.read(layout.report(runId));
  if (!existing) return;
  const report = JSON.parse(existing.data.toString('utf8'));
  report.final = {
    metrics: meta.metrics.values ?? { rmse: meta.metrics.rmse },
    evalRows: meta.metrics.evalRows,
    ...(meta.metrics.confusion
      ? { confusion: meta.metrics.confusion, classes: meta.spec.label.classes }
      : {}),
  };
  await ctx.storage.write(layout.report(runId), JSON.stringify(report, null, 2));
}
