import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_SPECS, parseSpec, SpecError, type DataSource, type ModelSpec } from '@bucketml/model';
import type { Messaging, Storage, TrainingBackend } from '@bucketml/ports';
import { layout } from './layout.js';
import type { Logger } from './logger.js';
import { RunStore, type RunRecord, type RunStateName } from './run-store.js';

/** Everything a stage needs from the outside world: the ports, a logger and settings. */
export interface PipelineContext {
  storage: Storage;
  messaging: Messaging;
  training: TrainingBackend;
  log: Logger;
  runs: RunStore;
  /** How long a drop's listing must stay unchanged before a run starts (several files, one run). */
  settleMs: number;
  /** Seed for studies and final trainings: a data version always trains the same way. */
  seed: number;
  /** Fault injection for tests: kills this process the first time a named point is reached. */
  crashPoint(point: string): void;
}

/**
 * `BUCKETML_CRASH_POINTS=deploy:after-copy,...` with `BUCKETML_CRASH_DIR`: the process SIGKILLs
 * itself the first time it reaches each point (a marker file makes it once per stack), which
 * is how tests kill a function mid-step at a known place.
 */
export function crashPointsFromEnv(env = process.env): (point: string) => void {
  const points = new Set((env.BUCKETML_CRASH_POINTS ?? '').split(',').filter(Boolean));
  const dir = env.BUCKETML_CRASH_DIR;
  if (points.size === 0 || !dir) return () => undefined;
  return (point) => {
    if (!points.has(point)) return;
    const marker = join(dir, point.replace(/[^a-z0-9-]/gi, '_'));
    if (existsSync(marker)) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(marker, String(process.pid));
    process.kill(process.pid, 'SIGKILL');
  };
}

/** A built-in model, or the spec at config/<model>/schema.json in the bucket. */
export async function resolveModelSpec(storage: Storage, model: string): Promise<{ spec: ModelSpec; specObject?: string }> {
  const builtin = BUILTIN_SPECS[model];
  if (builtin) return { spec: builtin };
  const name = layout.schemaConfig(model);
  const obj = await storage.read(name);
  if (!obj) throw new SpecError([`"${model}" is not a built-in model (${Object.keys(BUILTIN_SPECS).join(', ')}) and ${name} does not exist`]);
  let json: unknown;
  try {
    json = JSON.parse(obj.data.toString('utf8'));
  } catch (err) {
    throw new SpecError([`${name} is not valid JSON: ${(err as Error).message}`]);
  }
  const spec = parseSpec(json);
  if (spec.name !== model) throw new SpecError([`${name}: name is "${spec.name}" but the folder is "${model}"`]);
  return { spec, specObject: name };
}

/** A bucket object as a CSV source for the dataset reader. */
export function storageSource(storage: Storage, name: string): DataSource {
  return { name, open: async () => (await storage.openRead(name)) as unknown as import('node:stream').Readable };
}

/**
 * The run if it is in one of `states`; otherwise null, after a DEBUG line: a delivery for a
 * step the run has already left (a redelivery, or a duplicate) is acknowledged and ignored.
 */
export async function runAwaiting(ctx: PipelineContext, runId: string, states: RunStateName[], log: Logger, what: string): Promise<RunRecord | null> {
  const current = await ctx.runs.get(runId);
  if (current && states.includes(current.run.state)) return current.run;
  log.event('DEBUG', `${what} ignored: run is ${current?.run.state ?? 'unknown'}`);
  return null;
}
