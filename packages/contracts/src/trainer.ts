/**
 * @module trainer
 * The trainer's contract with every training backend: the flags `bucketml train` takes, the
 * metric tags it reports to the hypertune file, and the one builder of its argv. The local
 * training service and the Vertex AI backend both call `trainerArgv`; the CLI parses the same
 * flag names.
 */
import type { Goal, ParameterValue } from './jobs.js';

/** Flags a backend sets for every job: a study's args may not override them. */
export const BACKEND_FLAGS = ['model', 'train-data', 'eval-data', 'output-dir', 'seed'] as const;

/**
 * The trainer flag for the number of networks a model averages. Trials of a study train one
 * network each (they compare hyperparameters, and one network costs a trial a third of three);
 * the final training trains the spec's ensemble.
 */
export const ENSEMBLE_FLAG = 'ensemble';

const setsFlag = (args: string[], flag: string) =>
  args.some((a) => a.startsWith('--') && canonicalFlag(a) === flag);

/**
 * A study's args as its trials get them: judged by the study's metric, and one network each
 * unless the study says otherwise.
 */
export function trialArgs(args: string[], metricTag: string): string[] {
  return [
    ...(setsFlag(args, ENSEMBLE_FLAG) ? [] : [`--${ENSEMBLE_FLAG}=1`]),
    ...(setsFlag(args, OBJECTIVE_FLAG) ? [] : [`--${OBJECTIVE_FLAG}=${metricTag}`]),
    ...args,
  ];
}

/** A study's finalArgs as the final training gets them: judged by the study's metric. */
export function finalTrainingArgs(finalArgs: string[], metricTag: string): string[] {
  return setsFlag(finalArgs, OBJECTIVE_FLAG)
    ? finalArgs
    : [`--${OBJECTIVE_FLAG}=${metricTag}`, ...finalArgs];
}

/** What a model predicts: a number, one of two classes, or one of several. */
export type ProblemType = 'regression' | 'binary' | 'multiclass';

/**
 * The metrics the trainer reports to the hypertune file, each under its own tag, by problem
 * type, with the goal that suits each. A study may tune on any tag its problem type reports.
 */
export const METRICS_BY_PROBLEM: Readonly<Record<ProblemType, Readonly<Record<string, Goal>>>> = {
  regression: { rmse: 'MINIMIZE' },
  binary: { logloss: 'MINIMIZE', accuracy: 'MAXIMIZE', auc: 'MAXIMIZE' },
  multiclass: { logloss: 'MINIMIZE', accuracy: 'MAXIMIZE', f1_macro: 'MAXIMIZE' },
};

/** The tag a study tunes, and training keeps its best weights by, when none is named. */
export const DEFAULT_OBJECTIVE: Readonly<Record<ProblemType, string>> = {
  regression: 'rmse',
  binary: 'logloss',
  multiclass: 'logloss',
};

/** The regression metric (the default study tag of a study document that names none). */
export const METRIC_TAG = 'rmse';
/** Every tag the trainer reports for some problem type, with its goal. */
export const REPORTED_METRICS: Readonly<Record<string, Goal>> = Object.assign(
  {},
  ...Object.values(METRICS_BY_PROBLEM),
);

/**
 * The trainer flag naming the metric a training keeps its best weights by and stops early on:
 * the backends pass the study's tag, so trials and the final training judge by the objective.
 */
export const OBJECTIVE_FLAG = 'objective';

/** The trainer image's entry: `bucketml train …`. */
export const TRAIN_COMMAND = 'train';

/** A flag name as the trainer reads it: Vertex passes tuned parameters in snake_case. */
export function canonicalFlag(name: string): string {
  return name.replace(/^--/, '').split('=')[0].replace(/_/g, '-');
}

/** The backend flags a list of trainer args tries to set (a study's args must not). */
export function reservedFlagsIn(args: string[]): string[] {
  const reserved = new Set<string>(BACKEND_FLAGS);
  return [...new Set(args.filter((a) => a.startsWith('--')).map(canonicalFlag))].filter((f) =>
    reserved.has(f),
  );
}

/** Tuned parameter values as trainer flags, as Vertex AI passes them: --name=value. */
export function parameterFlags(values: Record<string, ParameterValue>): string[] {
  return Object.entries(values).map(([k, v]) => `--${k}=${v}`);
}

export interface TrainerInvocation {
  /** The model's name; with `specObject`, the spec comes from that bucket object. */
  model: string;
  specObject?: string;
  trainData: string[];
  evalData: string[];
  seed: number;
  /** The study's args (checked: no backend flag). */
  args: string[];
  parameters?: Record<string, ParameterValue>;
}

/**
 * `bucketml train` argv for a job, with object names turned into what the trainer can open
 * (local paths, or gs:// URIs read through Vertex's FUSE mount). Backend flags come last so a
 * study arg could not win even if one slipped past the study parser (the trainer keeps the
 * last value of a flag).
 */
export function trainerArgv(
  job: TrainerInvocation,
  location: (objectName: string) => string,
): string[] {
  const reserved = reservedFlagsIn(job.args);
  if (reserved.length)
    throw new Error(
      `trainer args may not set ${reserved.map((f) => `--${f}`).join(', ')}: the backend sets them`,
    );
  return [
    TRAIN_COMMAND,
    ...job.args,
    ...parameterFlags(job.parameters ?? {}),
    '--model',
    job.specObject ? location(job.specObject) : job.model,
    '--seed',
    String(job.seed),
    '--train-data',
    ...job.trainData.map(location),
    '--eval-data',
    ...job.evalData.map(location),
  ];
}

/**
 * The local training service's warm trainer workers (`bucketml-worker`): a worker reads one
 * job per line on stdin ({argv, env}: `bucketml train`'s argv and the job's environment),
 * writes the job's output on stdout, then this marker, the exit code and a line break.
 */
export const TRAINER_WORKER_EXIT = '\u0000bucketml-worker exit ';

/** One job for a trainer worker: the argv after `bucketml` and the variables it sets. */
export interface TrainerWorkerJob {
  argv: string[];
  env: Record<string, string>;
}

/**
 * The values a hypertune metric file reports for `tag`, in order (the learning curve). A line
 * that does not parse is one being written: the next read sees it whole.
 */
export function hypertuneValues(text: string, tag: string): number[] {
  const values: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const value = Number((JSON.parse(line) as Record<string, unknown>)[tag]);
      if (Number.isFinite(value)) values.push(value);
    } catch {
      // being written
    }
  }
  return values;
}
