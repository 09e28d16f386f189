/**
 * @module warm-start
 * Which earlier studies' trials seed a new study of the same model: the model's study index
 * (reports/<model>/studies.json, one entry per finished study) and the selection from it.
 *
 * "Same space" is exact: the same metric tag and goal, and the same parameters (names, types,
 * bounds, scales, values; order does not matter). A study whose space differs in any way
 * contributes nothing: an old trial's objective was measured under the old space's
 * boundaries, and a changed range usually means the person wants the search to move.
 * The selection is a pure function of the index and the new run, and takes only studies
 * that finished before the run was created, so a redelivery of the run's event selects the same
 * trials even if another study finished meanwhile.
 */
import type { Goal, ParamSpec, PriorTrial, StudySpec, Trial, WarmStart } from '@bucketml/contracts';

/** One finished study as the index keeps it: its space and its best succeeded trials. */
export interface IndexedStudy {
  runId: string;
  /** When the study was analysed (ISO time). */
  completedAt: string;
  metricTag: string;
  goal: Goal;
  params: ParamSpec[];
  trials: { trialId: string; parameters: PriorTrial['parameters']; objective: number }[];
}

export interface StudyIndex {
  studies: IndexedStudy[];
}

/** Studies the index keeps (the oldest go first): a bounded object, however many runs. */
const MAX_INDEXED_STUDIES = 20;
/** Succeeded trials kept per study (the best ones). */
const MAX_INDEXED_TRIALS = 50;
/** Earlier studies a new one is seeded from (the most recent compatible ones). */
const MAX_WARM_START_RUNS = 3;

/** The index with this study added; if it is there already (a redelivery), the same studies. */
export function addToStudyIndex(
  index: StudyIndex | null,
  study: Omit<IndexedStudy, 'trials'>,
  trials: Trial[],
): StudyIndex {
  const studies = index?.studies ?? [];
  if (studies.some((s) => s.runId === study.runId)) return { studies };
  const sign = study.goal === 'MINIMIZE' ? 1 : -1;
  const kept = trials
    .filter((t) => t.state === 'SUCCEEDED' && t.objective !== undefined)
    .sort((a, b) => sign * (a.objective! - b.objective!) || Number(a.id) - Number(b.id))
    .slice(0, MAX_INDEXED_TRIALS)
    .map((t) => ({ trialId: t.id, parameters: t.parameters, objective: t.objective! }));
  return { studies: [...studies, { ...study, trials: kept }].slice(-MAX_INDEXED_STUDIES) };
}

/** Parameter specs equal in every field that shapes the space (values compared as sets). */
function sameParamSpec(a: ParamSpec, b: ParamSpec): boolean {
  const set = (v?: (string | number)[]) => JSON.stringify(v ? [...v].sort() : null);
  return (
    a.name === b.name &&
    a.type === b.type &&
    a.min === b.min &&
    a.max === b.max &&
    (a.scale ?? 'UNIT_LINEAR_SCALE') === (b.scale ?? 'UNIT_LINEAR_SCALE') &&
    set(a.categoricalValues) === set(b.categoricalValues) &&
    set(a.discreteValues) === set(b.discreteValues)
  );
}

/** The same parameters (by name, any order), metric and goal. */
function sameSearchSpace(
  a: Pick<IndexedStudy, 'params' | 'metricTag' | 'goal'>,
  b: Pick<IndexedStudy, 'params' | 'metricTag' | 'goal'>,
): boolean {
  if (a.metricTag !== b.metricTag || a.goal !== b.goal || a.params.length !== b.params.length)
    return false;
  return a.params.every((p) => {
    const q = b.params.find((x) => x.name === p.name);
    return q !== undefined && sameParamSpec(p, q);
  });
}

/**
 * The trials a new run's study starts from: those of the most recent (≤ MAX_WARM_START_RUNS)
 * studies of the same space that finished before the run was created, most recent run first;
 * or none, with the reason.
 */
export function selectWarmStart(
  study: Pick<StudySpec, 'params' | 'metricTag' | 'goal' | 'warmStart'>,
  index: StudyIndex | null,
  run: { runId: string; createdAt: string },
): WarmStart {
  if (!study.warmStart) return { runs: [], trials: [], reason: 'turned off (warmStart: false)' };
  const earlier = (index?.studies ?? []).filter(
    (s) => s.runId !== run.runId && s.completedAt < run.createdAt,
  );
  if (earlier.length === 0) return { runs: [], trials: [], reason: 'no earlier study' };
  const matching = earlier
    .filter((s) => sameSearchSpace(s, study) && s.trials.length > 0)
    .sort((a, b) => (a.completedAt < b.completedAt ? 1 : a.completedAt > b.completedAt ? -1 : 0))
    .slice(0, MAX_WARM_START_RUNS);
  if (matching.length === 0)
    return {
      runs: [],
      trials: [],
      reason: `no earlier study has the same parameters, metric and goal (${earlier.length} differ)`,
    };
  return {
    runs: matching.map((s) => s.runId),
    trials: matching.flatMap((s) =>
      s.trials.map((t) => ({
        runId: s.runId,
        trialId: t.trialId,
        parameters: t.parameters,
        objective: t.objective,
      })),
    ),
  };
}

/** What suggestTrial does with earlier trials, in a line (the run's event says it). */
export const WARM_START_USE =
  'trial 1 re-runs their best; the search counts the rest as far as this run agrees with them';

/**
 * "warm start: 12 trial(s) from run(s) X, Y (how they are used)" or "warm start: none (why)",
 * for events and pages.
 */
export function describeWarmStart(
  w: Pick<WarmStart, 'runs' | 'reason'> & { trials: number },
): string {
  return w.trials > 0
    ? `warm start: ${w.trials} trial(s) from run(s) ${w.runs.join(', ')} (${WARM_START_USE})`
    : `warm start: none (${w.reason ?? 'no trials'})`;
}
