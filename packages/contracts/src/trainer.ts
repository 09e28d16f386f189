/**
 * @module trainer
 * The trainer's contract with every training backend: the flags `bucketml train` takes, the
 * metric tags it reports to the hypertune file, and the one builder of its argv. The local
 * training service and the Vertex AI backend both call `trainerArgv`; the CLI parses the same
 * flag names.
 */
import type { ParameterValue } from './jobs.js';

/** Flags a backend sets for every job: a study's args may not override them. */
export const BACKEND_FLAGS = ['model', 'train-data', 'eval-data', 'output-dir', 'seed'] as const;

/** The metric the trainer reports (hypertune tag) and the goal that suits it. */
export const METRIC_TAG = 'rmse';
export const REPORTED_METRICS: Record<string, 'MINIMIZE' | 'MAXIMIZE'> = { rmse: 'MINIMIZE' };

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
