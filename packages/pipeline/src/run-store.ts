/**
 * @module run-store
 * runs/<runId>/run.json: a small state machine advanced only by compare-and-swap on the
 * object's generation, so of two deliveries racing on one step exactly one moves the run on.
 */
import { layout, type RunRecord, type RunStateName } from '@bucketml/contracts';
import { PreconditionFailedError, type Storage } from '@bucketml/ports';

export type { RunRecord, RunStateName } from '@bucketml/contracts';

export class RunStore {
  constructor(private readonly storage: Storage) {}

  async get(runId: string): Promise<{ run: RunRecord; generation: string } | null> {
    const obj = await this.storage.read(layout.run(runId));
    return obj
      ? { run: JSON.parse(obj.data.toString('utf8')) as RunRecord, generation: obj.generation }
      : null;
  }

  /** Creates the run if absent; returns the existing one otherwise (`created` says which). */
  async create(
    run: Omit<RunRecord, 'history' | 'createdAt' | 'updatedAt' | 'state'>,
  ): Promise<{ run: RunRecord; created: boolean; generation: string }> {
    const now = new Date().toISOString();
    const record: RunRecord = {
      ...run,
      state: 'received',
      createdAt: now,
      updatedAt: now,
      history: [{ state: 'received', at: now }],
    };
    try {
      const generation = await this.storage.write(
        layout.run(run.runId),
        JSON.stringify(record, null, 2),
        { ifGenerationMatch: '0' },
      );
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
  async advance(
    runId: string,
    from: RunStateName[],
    to: RunStateName,
    patch: Partial<RunRecord> = {},
  ): Promise<RunRecord | null> {
    return this.modify(runId, (run) => {
      if (!from.includes(run.state)) return null;
      const now = new Date().toISOString();
      return {
        ...run,
        ...patch,
        state: to,
        updatedAt: now,
        history: [...run.history, { state: to, at: now }],
      };
    });
  }

  /** Merges `patch` into the run without changing its state. */
  async update(runId: string, patch: Partial<RunRecord>): Promise<RunRecord | null> {
    return this.modify(runId, (run) => ({
      ...run,
      ...patch,
      state: run.state,
      updatedAt: new Date().toISOString(),
    }));
  }

  private async modify(
    runId: string,
    change: (run: RunRecord) => RunRecord | null,
  ): Promise<RunRecord | null> {
    for (;;) {
      const current = await this.get(runId);
      if (!current) throw new Error(`run ${runId} does not exist`);
      const next = change(current.run);
      if (!next) return null;
      try {
        await this.storage.write(layout.run(runId), JSON.stringify(next, null, 2), {
          ifGenerationMatch: current.generation,
        });
        return next;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        // Someone else wrote in between: re-read and decide again.
      }
    }
  }
}
