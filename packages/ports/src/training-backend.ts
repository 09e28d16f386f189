/**
 * @module training-backend
 * Where training runs: locally, `bucketml train` processes on this machine; in the cloud,
 * Vertex AI custom and hyperparameter-tuning jobs. Jobs are named by the caller from the run
 * id, and submitting a job that exists returns it instead of starting another: handlers retry.
 */
import type {
  JobState,
  ParameterValue,
  StudySettings,
  Trial,
  WarmStart,
} from '@bucketml/contracts';

export type { JobState, ParameterValue, Trial, TrialState } from '@bucketml/contracts';

/** What a job trains on: the model (built in, or specified by a bucket object) and its data. */
export interface TrainerInput {
  /** The model's name (events, labels and logs carry it). */
  model: string;
  /** The spec object (config/<model>/schema.json) when the model is not built in. */
  specObject?: string;
  /** Object names in the bucket. */
  trainData: string[];
  evalData: string[];
  /** Extra trainer flags from the study, e.g. ["--train_examples=20000"]; never a backend flag. */
  args: string[];
}

export interface StudyJobRequest extends TrainerInput, StudySettings {
  jobId: string;
  runId: string;
  /** The study's output directory: trial n writes under <outputDir><n>/ (jobOutput.trialDir). */
  outputDir: string;
  seed: number;
  /**
   * Earlier runs' trials of the same space (selectWarmStart), fixed when the study is
   * submitted: every suggestion, after a restart too, is derived from the same ones.
   */
  warmStartFrom?: WarmStart;
}

export interface TrainingJobRequest extends TrainerInput {
  jobId: string;
  runId: string;
  /** The job's output directory; the model is written to <outputDir>model/ (AIP_MODEL_DIR). */
  outputDir: string;
  parameters: Record<string, ParameterValue>;
  seed: number;
}

export interface StudyJob {
  jobId: string;
  runId: string;
  state: JobState;
  trials: Trial[];
  error?: string;
}

/** A training job's state as the backend reports it. */
export interface TrainingJob {
  jobId: string;
  state: JobState;
  error?: string;
}

/** The training port. Submitting a job id that exists returns it (`created: false`). */
export interface TrainingBackend {
  /**
   * False when the backend's studies cannot start from earlier observations (Vertex AI's
   * HyperparameterTuningJob has no field for them); absent or true, they can.
   */
  readonly supportsWarmStart?: boolean;
  submitStudy(request: StudyJobRequest): Promise<{ jobId: string; created: boolean }>;
  submitTraining(request: TrainingJobRequest): Promise<{ jobId: string; created: boolean }>;
  getStudy(jobId: string): Promise<StudyJob | null>;
  /** The training job's state (null: no such job): a completion event is confirmed with it. */
  getTraining(jobId: string): Promise<TrainingJob | null>;
  /**
   * Asks the backend to cancel a job (a study stops its trials): it ends CANCELLED, and its
   * completion is published as a failure with the reason. Idempotent; an unknown or finished
   * job is a no-op.
   */
  cancelJob(jobId: string): Promise<void>;
}
