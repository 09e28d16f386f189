/**
 * @module study-index
 * The model's finished studies (reports/<model>/studies.json) in the bucket: job-completed adds
 * each analysed study, data-upload reads them to warm-start the next run's study. One object
 * per model, so finding the earlier runs costs one read, not a listing of runs/.
 */
import {
  layout,
  type RunRecord,
  type StudySpec,
  type Trial,
  type WarmStart,
} from '@bucketml/contracts';
import { addToStudyIndex, selectWarmStart, type StudyIndex } from '@bucketml/tuning';
import type { PipelineContext } from './context.js';
import type { Logger } from './logger.js';
import { updateObject } from './object-update.js';

/**
 * Adds a finished study to its model's index by compare-and-swap (two studies finishing at
 * once both land); a redelivery finds the run there and writes nothing.
 */
export async function recordStudyInIndex(
  ctx: PipelineContext,
  run: Pick<RunRecord, 'runId' | 'model' | 'study'>,
  trials: Trial[],
): Promise<void> {
  const study = run.study;
  const params = study?.params;
  if (!study || !params) return; // a run from before the index: nothing to match it by
  if (!trials.some((t) => t.state === 'SUCCEEDED' && t.objective !== undefined)) return;
  await updateObject(ctx.storage, layout.studyIndex(run.model), (text) => {
    const index = text !== null ? parseIndex(text) : null;
    const next = addToStudyIndex(
      index,
      {
        runId: run.runId,
        completedAt: new Date().toISOString(),
        metricTag: study.metricTag,
        goal: study.goal,
        params,
      },
      trials,
    );
    // Already there (a redelivery): addToStudyIndex hands back the same studies, nothing to write.
    return next.studies === index?.studies ? null : JSON.stringify(next, null, 2);
  });
}

/**
 * What the run's study starts from: the index's compatible earlier trials, or none and why
 * (off, a backend that cannot use them, no earlier study, a different space). An unreadable
 * index is a WARNING and a cold start, never a failed run.
 */
export async function warmStartFor(
  ctx: PipelineContext,
  run: Pick<RunRecord, 'runId' | 'model' | 'createdAt'>,
  study: StudySpec,
  log: Logger,
): Promise<WarmStart> {
  if (!study.warmStart) return selectWarmStart(study, null, run);
  if (ctx.training.supportsWarmStart === false)
    return {
      runs: [],
      trials: [],
      reason:
        "this training backend cannot seed a study (Vertex AI's tuning jobs take no earlier trials)",
    };
  const stored = await ctx.storage.read(layout.studyIndex(run.model));
  let index: StudyIndex | null = null;
  if (stored) {
    index = parseIndex(stored.data.toString('utf8'));
    if (!index)
      log.event('WARNING', `${layout.studyIndex(run.model)} is not a study index; starting cold`);
  }
  return selectWarmStart(study, index, run);
}

function parseIndex(text: string): StudyIndex | null {
  try {
    const doc = JSON.parse(text);
    return doc && Array.isArray(doc.studies) ? (doc as StudyIndex) : null;
  } catch {
    return null;
  }
}
