/**
 * @module context
 * What a stage needs from the outside world (the ports, a logger, settings), and the helpers
 * every stage shares: its model's spec and bucket objects as CSV sources (how a run ends is
 * run-end.ts).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { layout, setting } from '@bucketml/contracts';
import {
  BUILTIN_MODEL_NAMES,
  builtinSpec,
  inferSpec,
  readCsvHeader,
  parseInferenceConfig,
  SpecError,
  specFromDocument,
  type DataSource,
  type ModelSpec,
} from '@bucketml/model';
import type { Messaging, Storage, TrainingBackend } from '@bucketml/ports';
import type { Logger } from './logger.js';
import type { RunStore } from './run-store.js';

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
  const points = new Set((setting('BUCKETML_CRASH_POINTS', env) ?? '').split(',').filter(Boolean));
  const dir = setting('BUCKETML_CRASH_DIR', env);
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

/**
 * The spec a run trains with: a built-in model's, or one from config/<model>/schema.json,
 * which holds either a full spec or only `{"label": "<column>"}` (plus optional overrides),
 * in which case the spec is inferred from the run's training files. Either way a non-built-in
 * spec is saved as runs/<runId>/spec.json, and trials read that snapshot: an edit of the
 * config during the run cannot change what it trains.
 *
 * `prepare` is called once how a file's first row is read is known (the spec's header rule and
 * columns, or null for inference: a header row), before inference reads anything: it returns
 * the training files as the run reads them (a drop without evaluation files splits them there,
 * so inference sees the training rows only).
 */
export async function resolveModelSpec(
  ctx: PipelineContext,
  model: string,
  runId: string,
  trainFiles: DataSource[],
  prepare: (spec: ModelSpec | null) => Promise<DataSource[]> = async () => trainFiles,
): Promise<{ spec: ModelSpec; specObject?: string }> {
  const builtin = builtinSpec(model);
  if (builtin) {
    await prepare(builtin);
    return { spec: builtin };
  }
  const name = layout.schemaConfig(model);
  const obj = await ctx.storage.read(name);
  if (!obj) {
    const first = trainFiles[0] ? await readCsvHeader(trainFiles[0]) : null;
    // Shown only when it is a header (names, not numbers), and only so much of it.
    const columns = first?.every((c) => c !== '' && !/^[-+.\d]+$/.test(c))
      ? first.slice(0, 50)
      : null;
    throw new SpecError([
      `"${model}" is not a built-in model (${BUILTIN_MODEL_NAMES.join(', ')}): write ${name} containing {"label": "<the column to predict>"}${columns ? ` (the columns of ${trainFiles[0].name}: ${columns.join(', ')})` : ''}, then drop the data again (a config alone starts no run)`,
    ]);
  }
  let document: unknown;
  try {
    document = JSON.parse(obj.data.toString('utf8'));
  } catch (err) {
    throw new SpecError([`${name} is not valid JSON: ${(err as Error).message}`]);
  }
  const isConfig =
    typeof document === 'object' &&
    document !== null &&
    typeof (document as { label?: unknown }).label === 'string';
  let spec: ModelSpec;
  if (isConfig) {
    const options = parseInferenceConfig(document, name);
    spec = await inferSpec(await prepare(null), { name: model, ...options });
  } else spec = specFromDocument(obj.data.toString('utf8'), name);
  if (spec.name !== model)
    throw new SpecError([`${name}: name is "${spec.name}" but the folder is "${model}"`]);
  if (!isConfig) await prepare(spec);
  const specObject = layout.runSpec(runId);
  await ctx.storage.write(specObject, JSON.stringify(spec, null, 2));
  return { spec, specObject };
}

export { storageSource } from './storage-source.js';
