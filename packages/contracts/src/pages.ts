/**
 * @module pages
 * The data of the bucket's pages, shared by the stages that write it, the pages that show it and
 * the CLI that prints it (`bucketml runs`, `bucketml run`):
 *
 *   runs/<runId>/page.json     RunPageData: the run's state and history, its trials (in
 *                              report.json's order), their learning curves, the data summary,
 *                              the gate's verdict and the trail of explained decisions
 *   models/<model>/page.json   ModelsPageData: every deployment of the model, with its figures
 *
 * One JSON per page, because a page opened from the bucket cannot list objects: it can only
 * fetch names it knows. Both are written compact on one line (a few `gcloud storage cat`s of
 * them read back as JSON lines).
 */
import type { EarlyStopDecision, Goal, ParameterValue, TrialState } from './jobs.js';
import type { RunRecord, RunStateName } from './run.js';

/** Changes when a page's data changes shape incompatibly. */
export const PAGE_DATA_FORMAT = 1;

export interface RunPageTrial {
  id: string;
  /** 1 for the best succeeded trial (report.json's rank); absent for the others. */
  rank?: number;
  state: TrialState;
  parameters: Record<string, ParameterValue>;
  objective?: number;
  durationSeconds?: number;
  /** The learning curve: the objective reported at each evaluation (hypertune's lines). */
  measurements: number[];
  /** Why a trial failed, or how it was stopped. */
  error?: string;
  earlyStop?: EarlyStopDecision;
}

/** One entry of the decision trail: what was decided, in words, with its numbers. */
export interface RunDecision {
  kind: 'data' | 'early-stop' | 'trial-failed' | 'best-trial' | 'gate' | 'run-failed';
  /** The trial it is about, for early stops and failed trials. */
  trialId?: string;
  message: string;
  figures?: Record<string, number | string | boolean | null>;
}

export interface RunPageData {
  format: typeof PAGE_DATA_FORMAT;
  /** Incremented at each write (compare-and-swap): the newest of two copies has the larger one. */
  revision: number;
  generatedAt: string;
  runId: string;
  model: string;
  state: RunStateName;
  terminal: boolean;
  createdAt: string;
  updatedAt: string;
  /** From creation to the end (or to now, while the run goes). */
  durationSeconds: number;
  history: RunRecord['history'];
  study?: { metricTag: string; goal: Goal; maxTrials: number; maxParallelTrials: number };
  /** report.json's trials in its order once the study is analysed; before that, the same ranking of the trials so far. */
  trials: RunPageTrial[];
  best?: { trialId: string; objective: number };
  final?: { metric: string; value?: number; metrics?: Record<string, number>; evalRows?: number };
  data?: {
    rows: {
      read: number;
      used: number;
      rejected: number;
      rejectedByReason: Record<string, number>;
    };
    verdict: string;
    reference: { version: string; as: string } | null;
    drifted: {
      name: string;
      metric: string;
      distance: number;
      threshold: number;
      blocking: boolean;
      reasons: string[];
    }[];
    missingColumns: string[];
    newColumns: string[];
  };
  decision?: RunRecord['decision'];
  version?: string;
  error?: RunRecord['error'];
  /** The trail of explained decisions, in the order they were taken. */
  decisions: RunDecision[];
}

export interface ModelDeployment {
  version: string;
  runId: string;
  metric: string;
  value: number;
  /** Every eval metric of the model (its problem type's). */
  metrics?: Record<string, number>;
  evalRows?: number;
  deployedAt: string;
  previousVersion?: string;
  /** The previous version's value on this run's eval data, when one served. */
  servingValue?: number;
}

export interface ModelsPageData {
  format: typeof PAGE_DATA_FORMAT;
  revision: number;
  generatedAt: string;
  model: string;
  /** The version serving now (models/<model>/serving.json). */
  serving?: string;
  /** Oldest first; each served from its deployedAt until the next one's. */
  deployments: ModelDeployment[];
}

/** The first run page data (or models page data) of a JSON text, or null when it is not one. */
export function parsePageData<T extends RunPageData | ModelsPageData>(text: string): T | null {
  try {
    const data = JSON.parse(text) as T;
    return data && typeof data === 'object' && data.format === PAGE_DATA_FORMAT ? data : null;
  } catch {
    return null;
  }
}
