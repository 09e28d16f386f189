/**
 * @module run
 * Run state (runs/<runId>/run.json) and the serving pointer (models/<model>/serving.json): the
 * records the stages advance and that npm start, the tests and the CLI read to follow a run.
 */
import type { Goal, ParameterValue, ParamSpec } from './jobs.js';
import { layout } from './layout.js';

export const RUN_STATES = [
  'received',
  'tuning',
  'final-training',
  'gating',
  'deployed',
  'rejected',
  'failed',
] as const;
export type RunStateName = (typeof RUN_STATES)[number];
/** Where a run ends; each ends with exactly one run.finished event. */
export const TERMINAL_STATES = [
  'deployed',
  'rejected',
  'failed',
] as const satisfies readonly RunStateName[];
export type RunOutcome = (typeof TERMINAL_STATES)[number];

export function isTerminal(state: RunStateName): state is RunOutcome {
  return (TERMINAL_STATES as readonly string[]).includes(state);
}

export interface DataObject {
  name: string;
  generation: string;
  size: number;
}

/**
 * A drop without evaluation files holds out 1 in this many of its training rows for evaluation,
 * chosen by a hash of each row's bytes: a row is on the same side in every drop it is part of,
 * so a later drop's gate never scores the serving model on rows it trained on.
 */
export const HELD_OUT_EVERY = 5;

/**
 * The objects a run's trainings and gate read: its copies of the drop (layout.runInput), made
 * from the generations in `data.objects` when the run started, or for a drop without
 * evaluation files the two parts of its training copies (layout.runSplitPart);
 * `data.train`/`data.eval` keep the dropped names for lineage.
 */
export function runInputs(run: Pick<RunRecord, 'runId' | 'data'>): {
  train: string[];
  eval: string[];
  /** The dropped object each input is read from (for naming it to a person). */
  from: { train: string[]; eval: string[] };
} {
  const { train, eval: evalFiles, heldOut } = run.data;
  if (run.data.inputs !== 'copies')
    return { train, eval: evalFiles, from: { train, eval: evalFiles } };
  if (heldOut) {
    // Only the parts that hold rows: a small file may fall wholly on one side.
    const from = heldOut.withRows ?? { train, eval: train };
    const part = (p: 'train' | 'eval') => (name: string) => layout.runSplitPart(run.runId, name, p);
    return { train: from.train.map(part('train')), eval: from.eval.map(part('eval')), from };
  }
  const copy = (name: string) => layout.runInput(run.runId, name);
  return { train: train.map(copy), eval: evalFiles.map(copy), from: { train, eval: evalFiles } };
}

export interface RunRecord {
  runId: string;
  model: string;
  state: RunStateName;
  createdAt: string;
  updatedAt: string;
  data: {
    version: string;
    train: string[];
    eval: string[];
    objects: DataObject[];
    /** "copies": the run reads runs/<runId>/inputs/ (absent for runs made before they existed). */
    inputs?: 'copies';
    /** No evaluation file was dropped: 1 in `every` training rows is held out (runInputs). */
    heldOut?: {
      every: number;
      /** Once split: per part, the training files whose part holds rows, and the rows. */
      withRows?: { train: string[]; eval: string[] };
      rows?: { train: number; eval: number };
    };
  };
  /** The storage event (object#generation) whose delivery starts the run: only it does. */
  createdBy?: string;
  /** The spec object the trainer reads (config/<model>/schema.json); absent for built-in models. */
  specObject?: string;
  study?: {
    jobId: string;
    maxTrials: number;
    maxParallelTrials: number;
    metricTag: string;
    goal: Goal;
    args: string[];
    finalArgs: string[];
    /** The study's parameter space (the study index keeps it, to match later runs' studies). */
    params?: ParamSpec[];
    /** What the study was seeded with: trial counts per earlier run, or why none. */
    warmStart?: { trials: number; runs: string[]; reason?: string };
  };
  best?: { trialId: string; objective: number; parameters: Record<string, ParameterValue> };
  /** The final training: its job and output directory (the model is at <outputDir>model/). */
  /** metric, value: the final model's eval figure on the study's metric tag. */
  final?: { jobId: string; outputDir: string; metric?: string; value?: number };
  /** The gate's figures: both models on the run's eval data, by the study's metric tag. */
  decision?: {
    deployed: boolean;
    reason: string;
    metric: string;
    candidateValue?: number;
    servingValue?: number;
    servingVersion?: string;
    /** The eval rows both models were measured on. */
    evalRows?: number;
    /** Eval rows left out because the serving version trained on them. */
    evalRowsLeftOut?: number;
  };
  version?: string;
  error?: { stage: string; message: string; file?: string; line?: number };
  /** Set once the run's run.finished event is published (a redelivery publishes it if missing). */
  finishedPublished?: boolean;
  history: { state: RunStateName; at: string }[];
}

/** One change of a model's serving pointer, as models/<model>/history.jsonl records it. */
export interface ServingChange {
  /** When the pointer changed. */
  at: string;
  model: string;
  reason: 'deploy' | 'rollback';
  /** The version that served before (absent: none did). */
  from?: string;
  to: string;
  /** The run that made the version `to`. */
  runId: string;
  /** The gate's figure of `to` (and of `from` on the same data, for a deployment). */
  metric: string;
  value: number;
  fromValue?: number;
  evalRows?: number;
  /** Why, in words (the gate's reason, or the rollback's). */
  note?: string;
  /** The generation of serving.json this change wrote: one entry per pointer write. */
  pointerGeneration: string;
}

export interface ServingPointer {
  model: string;
  version: string;
  /** Object prefix of the deployed model directory. */
  prefix: string;
  /** The gate's figure of the deployed model: its value of the study's metric on its run's eval data. */
  metric: string;
  value: number;
  runId: string;
  deployedAt: string;
  previousVersion?: string;
  /**
   * A rollback's pointer says so and why (a deployment's says neither), so that the history
   * line of a pointer write whose line was never appended (a crash between the two) can be
   * rebuilt from the pointer itself.
   */
  reason?: 'rollback';
  note?: string;
}
