/**
 * Where training runs: locally, `bucketml train` processes on this machine; in the cloud,
 * Vertex AI custom and hyperparameter-tuning jobs. Jobs are named by the caller from the run
 * id, and submitting a job that exists returns it instead of starting another: handlers retry.
 */
import type { StudySettings } from '@bucketml/tuning';

export type ParameterValue = number | string;

export interface TrainerInput {
  /** Built-in model name, or the object name of a spec file in the bucket. */
  model: string;
  /** Object names in the bucket. */
  trainData: string[];
  evalData: string[];
  /** Extra trainer flags, e.g. ["--train_examples=20000"] (the course's trainingInput.args). */
  args: string[];
}

/** A study: the tuning engine's settings (goal, metric, trial counts, early stopping, params). */
/** The model a job is for: a built-in name, or the folder of its spec object (config/<model>/schema.json). */
export function modelNameOf(input: TrainerInput): string {
  return input.model.includes('/') ? input.model.split('/').at(-2)! : input.model;
}

export interface StudyJobRequest extends TrainerInput, StudySettings {
  jobId: string;
  runId: string;
  /** Object prefix under which each trial writes trials/<id>/. */
  outputPrefix: string;
  seed: number;
}

export interface TrainingJobRequest extends TrainerInput {
  jobId: string;
  runId: string;
  /** Object prefix the model is written under (AIP_MODEL_DIR). */
  outputPrefix: string;
  parameters: Record<string, ParameterValue>;
  seed: number;
}

export type JobState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
export type TrialState = 'SUCCEEDED' | 'FAILED' | 'STOPPED' | 'ACTIVE';

export interface Trial {
  id: string;
  state: TrialState;
  parameters: Record<string, ParameterValue>;
  /** Final objective value (absent when the trial failed); for a stopped trial, its last report. */
  objective?: number;
  /** The intermediate objective values the trial reported, in order. */
  measurements?: number[];
  /** Object prefix of the trial's model. */
  modelPrefix: string;
  startTime?: string;
  endTime?: string;
  error?: string;
}

export interface StudyJob {
  jobId: string;
  runId: string;
  state: JobState;
  trials: Trial[];
  error?: string;
}

export interface TrainingBackend {
  submitStudy(request: StudyJobRequest): Promise<{ jobId: string; created: boolean }>;
  submitTraining(request: TrainingJobRequest): Promise<{ jobId: string; created: boolean }>;
  getStudy(jobId: string): Promise<StudyJob | null>;
}
