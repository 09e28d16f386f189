/**
 * @module run-page
 * runs/<runId>/page.json and runs/<runId>/index.html, rewritten by the stages at each step of
 * the run. The data is assembled afresh each time from what the run has left in the bucket
 * (run.json, report.json, data-report.json, the trials' metric files) and the training
 * backend's word on the study, so a redelivery rewrites the same page. Writes are
 * compare-and-swap on page.json: a writer that lost the race rebuilds from the newer state, so
 * an older snapshot never replaces a newer one; each write increments `revision`, and the HTML
 * (which embeds the snapshot) is replaced only by a higher revision. A page that cannot be
 * written is a WARNING: the run goes on.
 */
import {
  explainEarlyStop,
  hypertuneValues,
  isTerminal,
  layout,
  PAGE_DATA_FORMAT,
  parsePageData,
  type RunDecision,
  type RunPageData,
  type RunPageTrial,
  type RunRecord,
  type Trial,
} from '@bucketml/contracts';
import { runPageHtml } from '@bucketml/pages';
import { analyzeTrials, type StudyReport } from '@bucketml/tuning';
import type { PipelineContext } from './context.js';
import type { DataReport } from './data-report.js';
import type { Logger } from './logger.js';
import { writePageData, writePageHtml } from './page-writes.js';

type ReportJson = StudyReport & {
  final?: { metrics?: Record<string, number>; evalRows?: number };
};

async function readJson<T>(ctx: PipelineContext, name: string): Promise<T | null> {
  const obj = await ctx.storage.read(name);
  if (!obj) return null;
  try {
    return JSON.parse(obj.data.toString('utf8')) as T;
  } catch {
    return null;
  }
}

/**
 * The trials so far, ranked as report.json will rank them: report.json's once the study is
 * analysed; before that the backend's, with the running trials' curves read from their
 * metric files (the local backend records a trial's measurements when it ends).
 */
async function pageTrials(
  ctx: PipelineContext,
  run: RunRecord,
  report: ReportJson | null,
): Promise<RunPageTrial[]> {
  let trials: (Trial & { rank?: number; durationSeconds?: number })[] = report?.trials ?? [];
  if (!report && run.study) {
    const study = await ctx.training.getStudy(run.study.jobId).catch(() => null);
    trials = study ? analyzeTrials(study.trials, run.study.goal, run.study.metricTag).trials : [];
  }
  const tag = run.study?.metricTag ?? 'rmse';
  return Promise.all(
    trials.map(async (t) => {
      const measurements =
        t.measurements ??
        hypertuneValues(
          (await ctx.storage.read(layout.trialMetricFile(run.runId, t.id)))?.data.toString(
            'utf8',
          ) ?? '',
          tag,
        );
      return {
        id: t.id,
        ...(t.rank !== undefined ? { rank: t.rank } : {}),
        state: t.state,
        parameters: t.parameters,
        ...(t.objective !== undefined ? { objective: t.objective } : {}),
        ...(t.durationSeconds !== undefined
          ? { durationSeconds: t.durationSeconds }
          : t.startTime && !t.endTime
            ? { durationSeconds: (Date.now() - Date.parse(t.startTime)) / 1000 }
            : {}),
        measurements,
        ...(t.error ? { error: t.error } : {}),
        ...(t.earlyStop ? { earlyStop: t.earlyStop } : {}),
      };
    }),
  );
}

function dataSummary(report: DataReport | null): RunPageData['data'] {
  if (!report) return undefined;
  return {
    rows: report.rows,
    verdict: report.verdict,
    reference: report.reference
      ? { version: report.reference.version, as: report.reference.as }
      : null,
    drifted: (report.drift?.features ?? [])
      .filter((f) => f.drifted)
      .map((f) => ({
        name: f.name,
        metric: f.metric,
        distance: f.distance,
        threshold: f.threshold,
        blocking: f.blocking,
        reasons: f.reasons,
      })),
    missingColumns: report.drift?.missingColumns ?? [],
    newColumns: report.drift?.newColumns ?? [],
  };
}

/** The trail of explained decisions, in the order the run took them. */
function decisionTrail(
  run: RunRecord,
  trials: RunPageTrial[],
  data: RunPageData['data'],
): RunDecision[] {
  const tag = run.study?.metricTag ?? 'rmse';
  const trail: RunDecision[] = [];
  if (data) {
    const drifted = data.drifted.map((f) => `${f.name} (${f.metric} ${f.distance.toFixed(4)})`);
    trail.push({
      kind: 'data',
      message: `${data.rows.read} rows read, ${data.rows.used} used, ${data.rows.rejected} rejected; drift: ${data.verdict}${drifted.length ? ` in ${drifted.join(', ')}` : ''}`,
      figures: { read: data.rows.read, used: data.rows.used, rejected: data.rows.rejected },
    });
  }
  for (const t of [...trials].sort((a, b) => Number(a.id) - Number(b.id))) {
    if (t.state === 'STOPPED' && t.earlyStop)
      trail.push({
        kind: 'early-stop',
        trialId: t.id,
        message: `stopped: ${explainEarlyStop(t.earlyStop, tag)}`,
        figures: { ...t.earlyStop },
      });
    else if (t.state === 'FAILED')
      trail.push({ kind: 'trial-failed', trialId: t.id, message: t.error ?? 'failed' });
  }
  if (run.best)
    trail.push({
      kind: 'best-trial',
      trialId: run.best.trialId,
      message: `best of the study: ${tag} ${run.best.objective.toFixed(4)}; the final training uses its parameters ${JSON.stringify(run.best.parameters)}`,
      figures: { objective: run.best.objective },
    });
  const d = run.decision;
  if (d)
    trail.push({
      kind: 'gate',
      message: `${d.deployed ? 'deployed' : 'rejected'}: ${d.reason}`,
      figures: {
        metric: d.metric,
        candidateValue: d.candidateValue ?? null,
        servingValue: d.servingValue ?? null,
        servingVersion: d.servingVersion ?? null,
        evalRows: d.evalRows ?? null,
      },
    });
  if (run.error)
    trail.push({
      kind: 'run-failed',
      message: `failed in ${run.error.stage}: ${run.error.message}`,
    });
  return trail;
}

/** The run page's data now, as revision `revision`; null when the run does not exist. */
async function buildRunPageData(
  ctx: PipelineContext,
  runId: string,
  revision: number,
): Promise<RunPageData | null> {
  const found = await ctx.runs.get(runId);
  if (!found) return null;
  const { run } = found;
  const report = await readJson<ReportJson>(ctx, layout.report(runId));
  const trials = await pageTrials(ctx, run, report);
  const data = dataSummary(await readJson<DataReport>(ctx, layout.dataReport(runId)));
  const terminal = isTerminal(run.state);
  const end = terminal ? Date.parse(run.history.at(-1)?.at ?? run.updatedAt) : Date.now();
  return {
    format: PAGE_DATA_FORMAT,
    revision,
    generatedAt: new Date().toISOString(),
    runId,
    model: run.model,
    state: run.state,
    terminal,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    durationSeconds: Math.max(0, (end - Date.parse(run.createdAt)) / 1000),
    history: run.history,
    ...(run.study
      ? {
          study: {
            metricTag: run.study.metricTag,
            goal: run.study.goal,
            maxTrials: run.study.maxTrials,
            maxParallelTrials: run.study.maxParallelTrials,
          },
        }
      : {}),
    trials,
    ...(run.best ? { best: { trialId: run.best.trialId, objective: run.best.objective } } : {}),
    ...(run.final?.metric
      ? {
          final: {
            metric: run.final.metric,
            ...(run.final.value !== undefined ? { value: run.final.value } : {}),
            ...(report?.final?.metrics ? { metrics: report.final.metrics } : {}),
            ...(report?.final?.evalRows !== undefined ? { evalRows: report.final.evalRows } : {}),
          },
        }
      : {}),
    ...(data ? { data } : {}),
    ...(run.decision ? { decision: run.decision } : {}),
    ...(run.version ? { version: run.version } : {}),
    ...(run.error ? { error: run.error } : {}),
    decisions: decisionTrail(run, trials, data),
  };
}

/**
 * Rewrites the run's page.json and index.html from the run's current state. Returns the page
 * data written (null when none was), so a caller can use the run state it was built from
 * instead of reading the run again. Never throws: a page that cannot be written is a WARNING,
 * and the stage goes on.
 */
export async function refreshRunPage(
  ctx: PipelineContext,
  runId: string,
  log: Logger = ctx.log.child({ runId }),
): Promise<RunPageData | null> {
  let data: RunPageData | null = null;
  try {
    data = await writePageData(ctx.storage, layout.runPageData(runId), (previous) =>
      buildRunPageData(ctx, runId, (parsePageData<RunPageData>(previous ?? '')?.revision ?? 0) + 1),
    );
    if (data)
      await writePageHtml(ctx.storage, layout.runPage(runId), runPageHtml(data), data.revision);
  } catch (err) {
    log.event('WARNING', `run page not updated: ${(err as Error).message}`, {
      page: layout.runPage(runId),
    });
  }
  return data;
}
