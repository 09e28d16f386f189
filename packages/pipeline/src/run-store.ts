import { PreconditionFailedError, type Storage } from '@bucketml/ports';
import { layout } from './layout.js';

export type RunStateName = 'received' | 'tuning' | 'final-training' | 'gating' | 'deployed' | 'rejected' | 'failed';

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
    objects: { name: string; generation: string; size: number }[];
  };
  /** What the trainer's --model gets: a built-in name or the spec object in the bucket. */
  trainerModel?: string;
  study?: { jobId: string; maxTrials: number; maxParallelTrials: number; metricTag: string; goal: string; args: string[]; finalArgs: string[] };
  best?: { trialId: string; objective: number; parameters: Record<string, number | string> };
  final?: { jobId: string; modelPrefix: string; rmse?: number };
  decision?: { deployed: boolean; reason: string; candidateRmse: number; servingRmse?: number; servingVersion?: string };
  version?: string;
  error?: { stage: string; message: string; file?: string; line?: number };
  history: { state: RunStateName; at: string }[];
}

/**
 * run.json: a small state machine advanced only by compare-and-swap on the object's
 * generation, so of two deliveries racing on one step exactly one moves the run on.
 */
export class RunStore {
  constructor(private readonly storage: Storage) {}

  async get(runId: string): Promise<{ run: RunRecord; generation: string } | null> {
    const obj = await this.storage.read(layout.run(runId));
    return obj ? { run: JSON.parse(obj.data.toString('utf8')) as RunRecord, generation: obj.generation } : null;
  }

  /** Creates the run if absent; returns the existing one otherwise (`created` says which). */
  async create(run: Omit<RunRecord, 'history' | 'createdAt' | 'updatedAt' | 'state'>): Promise<{ run: RunRecord; created: boolean; generation: string }> {
    const now = new Date().toISOString();
    const record: RunRecord = { ...run, state: 'received', createdAt: now, updatedAt: now, history: [{ state: 'received', at: now }] };
    try {
      const generation = await this.storage.write(layout.run(run.runId), JSON.stringify(record, null, 2), { ifGenerationMatch: '0' });
      return { run: record, created: true, generation };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      const existing = await this.get(run.runId);
      if (!existing) throw err;
      return { ...existing, created: false };
    }
  }

  /**
   * Moves the run from one of `from` to `to`, merging `patch`. Returns the new record, or null
   * when the run is not in a `from` state any more (another delivery got there first).
   */
  async advance(runId: string, from: RunStateName[], to: RunStateName, patch: Partial<RunRecord> = {}): Promise<RunRecord | null> {
    for (;;) {
      const current = await this.get(runId);
      if (!current) throw new Error(`run ${runId} does not exist`);
      if (!from.includes(current.run.state)) return null;
      const now = new Date().toISOString();
      const next: RunRecord = { ...current.run, ...patch, state: to, updatedAt: now, history: [...current.run.history, { state: to, at: now }] };
      try {
        await this.storage.write(layout.run(runId), JSON.stringify(next, null, 2), { ifGenerationMatch: current.generation });
        return next;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        // Someone else wrote in between: re-read and decide again.
      }
    }
  }
}
