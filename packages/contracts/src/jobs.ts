/**
 * @module jobs
 * The one Trial and the one study type, shared by the tuning engine, both training backends,
 * job events and reports.
 */
/** A tuned parameter's value (INTEGER, DOUBLE and DISCRETE are numbers; CATEGORICAL strings). */
export type ParameterValue = number | string;
export type JobState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** A job that will not change any more. */
export function isJobFinished(state: JobState | undefined): boolean {
  return state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED';
}
export const TRIAL_STATES = ['SUCCEEDED', 'FAILED', 'STOPPED', 'ACTIVE'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];
/** How a job ended, as job events report it. */
export const JOB_OUTCOMES = ['SUCCEEDED', 'FAILED'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

export interface Trial {
  id: string;
  state: TrialState;
  parameters: Record<string, ParameterValue>;
  /** Final objective value (absent when the trial failed); for a stopped trial, its last report. */
  objective?: number;
  /** The intermediate objective values the trial reported, in order. */
  measurements?: number[];
  /** Object prefix of the trial's model. */
  modelPrefix?: string;
  startTime?: string;
  endTime?: string;
  error?: string;
  /** Why the median rule stopped the trial (STOPPED by the local training service), with its numbers. */
  earlyStop?: EarlyStopDecision;
}

/**
 * The numbers of an early stop (the median rule of @bucketml/tuning): at its `measurement`-th
 * measurement the trial's best value so far (`value`) was worse than the median of the
 * `finished` trials' best values over their first as many measurements (`median`), and it had
 * improved less since its first measurement (`improvement`) than their median did
 * (`medianImprovement`). Improvements are in the goal's direction (positive is better).
 */
export interface EarlyStopDecision {
  measurement: number;
  value: number;
  median: number;
  finished: number;
  improvement: number;
  medianImprovement: number;
}

/** An early stop in words, the same in the log, the event, the run page and the CLI. */
export function explainEarlyStop(d: EarlyStopDecision, metricTag: string): string {
  const f = (x: number) => x.toFixed(4);
  return `at measurement ${d.measurement} its best ${metricTag} ${f(d.value)} was behind the median ${f(d.median)} of the ${d.finished} finished trials, and it had improved ${f(d.improvement)} since its first measurement against their median ${f(d.medianImprovement)}`;
}

export type ParamType = 'INTEGER' | 'DOUBLE' | 'CATEGORICAL' | 'DISCRETE';
export type ScaleType = 'UNIT_LINEAR_SCALE' | 'UNIT_LOG_SCALE' | 'UNIT_REVERSE_LOG_SCALE';
export type Goal = 'MINIMIZE' | 'MAXIMIZE';

export interface ParamSpec {
  name: string;
  type: ParamType;
  min?: number;
  max?: number;
  categoricalValues?: string[];
  discreteValues?: number[];
  scale?: ScaleType;
}

/** What a tuning job needs to search; the training backend's study request extends it. */
export interface StudySettings {
  goal: Goal;
  metricTag: string;
  maxTrials: number;
  maxParallelTrials: number;
  maxFailedTrials: number;
  enableTrialEarlyStopping: boolean;
  algorithm: string;
  params: ParamSpec[];
}

/** A parsed study (hyperparam.yaml in either form). */
export interface StudySpec extends StudySettings {
  scaleTier?: string;
  /** Trainer flags for every trial: the tuning job's args, as in the course. */
  args: string[];
  /** Trainer flags for the final training with the best parameters (a BucketML extension). */
  finalArgs: string[];
  /**
   * Seed the study with earlier runs' trials of the same model and parameter space (a BucketML
   * extension, default true; `warmStart: false` in hyperparam.yaml turns it off).
   */
  warmStart: boolean;
}

/** An earlier run's finished trial, as a new study's search sees it (warm start). */
export interface PriorTrial {
  runId: string;
  trialId: string;
  parameters: Record<string, ParameterValue>;
  objective: number;
}

/** What a study was seeded with: the earlier runs' trials, or why none. */
export interface WarmStart {
  runs: string[];
  trials: PriorTrial[];
  /** Why no trials were taken (off, no earlier run, a different parameter space, …). */
  reason?: string;
}
