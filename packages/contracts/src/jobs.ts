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
}
