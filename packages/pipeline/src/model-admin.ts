/**
 * @module model-admin
 * What `bucketml models` and `bucketml rollback` do, on any Storage: a model's versions with
 * their metrics, the bucket objects (and generations) each was trained on and when each
 * served; and a rollback, which moves the serving pointer by compare-and-swap to an earlier
 * version that loads, and records the change in the serving history. Predict follows the
 * pointer, so it picks a rollback up as it picks up a deployment.
 */
import {
  isModelName,
  layout,
  type DataObject,
  type ServingChange,
  type ServingPointer,
} from '@bucketml/contracts';
import { MODEL_FILE, Predictor, WEIGHTS_FILE, type ModelMetadata } from '@bucketml/model';
import { PreconditionFailedError, type Storage } from '@bucketml/ports';
import { readModelObjects } from './model-store.js';
import { RunStore } from './run-store.js';
import { readServingHistory, recordServingChange, servingChangeOf } from './serving-history.js';
import { readServingPointer, ServingPointerError } from './serving-pointer.js';

export interface ModelVersionInfo {
  version: string;
  serving: boolean;
  /** Why the version cannot serve, when its folder lacks part of the model (rollback refuses it). */
  incomplete?: string;
  createdAt?: string;
  /** The model's eval metrics (model.json), by tag. */
  metrics: Record<string, number>;
  /** The bucket objects of the drop it was trained on, with the generations read. */
  lineage: DataObject[];
  /** When it started and stopped serving, from the serving history (until: absent = now). */
  served: { from: string; until?: string }[];
}

export interface ModelListing {
  model: string;
  serving?: string;
  /** What is wrong with serving.json, when it is not a valid pointer (then nothing serves). */
  pointerError?: string;
  /**
   * The pointer's current write has no history line (a crash between its swap and the append):
   * the periods served are read as if it had; bucketml rollback records it.
   */
  unrecorded?: ServingChange;
  versions: ModelVersionInfo[];
}

/** A model's deployed versions, oldest first. */
export async function listModelVersions(storage: Storage, model: string): Promise<ModelListing> {
  const [pointer, recorded, objects] = await Promise.all([
    readServingPointer(storage, model).catch((err: unknown) => {
      if (err instanceof ServingPointerError) return err;
      throw err;
    }),
    readServingHistory(storage, model),
    storage.list(`${layout.modelsRoot}${model}/`),
  ]);
  const current = pointer instanceof ServingPointerError ? null : pointer;
  const unrecorded =
    current && !recorded.some((c) => c.pointerGeneration === current.generation)
      ? servingChangeOf(current.pointer, current.generation)
      : undefined;
  const history = unrecorded ? [...recorded, unrecorded] : recorded;
  const names = new Set(objects.map((o) => o.name));
  const versions = [
    ...new Set(
      objects
        .map((o) => /^models\/[^/]+\/([^/]+)\/model\.json$/.exec(o.name)?.[1])
        .filter((v) => v !== undefined),
    ),
  ];
  const runs = new RunStore(storage);
  const infos = await Promise.all(
    versions.map(async (version): Promise<ModelVersionInfo> => {
      const prefix = layout.modelVersionPrefix(model, version);
      const [meta, run] = await Promise.all([
        storage
          .read(prefix + MODEL_FILE)
          .then((o) => (o ? (JSON.parse(o.data.toString('utf8')) as ModelJsonHead) : null))
          .catch(() => null),
        runs
          .get(version)
          .then((found) => found?.run ?? null)
          .catch(() => null),
      ]);
      // As readModelObjects reads a model: both files, model.json parsed.
      const incomplete = !names.has(prefix + WEIGHTS_FILE)
        ? `no ${WEIGHTS_FILE}`
        : meta === null || typeof meta !== 'object'
          ? `${MODEL_FILE} is not valid JSON`
          : undefined;
      return {
        version,
        serving: current?.pointer.version === version,
        ...(incomplete ? { incomplete } : {}),
        ...(meta?.createdAt ? { createdAt: meta.createdAt } : {}),
        metrics: incomplete
          ? {}
          : (meta?.metrics?.values ??
            (meta?.metrics?.rmse !== undefined ? { rmse: meta.metrics.rmse } : {})),
        lineage: run?.data.objects ?? [],
        served: servedPeriods(history, version),
      };
    }),
  );
  infos.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
  return {
    model,
    ...(current ? { serving: current.pointer.version } : {}),
    ...(pointer instanceof ServingPointerError ? { pointerError: pointer.message } : {}),
    ...(unrecorded ? { unrecorded } : {}),
    versions: infos,
  };
}

/** The part of model.json (the model's metadata) read here. */
type ModelJsonHead = Partial<Pick<ModelMetadata, 'createdAt' | 'metrics'>>;

function servedPeriods(
  history: ServingChange[],
  version: string,
): { from: string; until?: string }[] {
  const periods: { from: string; until?: string }[] = [];
  for (const change of history) {
    const open = periods.at(-1);
    if (open && open.until === undefined && change.to !== version) open.until = change.at;
    if (change.to === version && !(open && open.until === undefined))
      periods.push({ from: change.at });
  }
  return periods;
}

/**
 * Why a rollback cannot be done (nothing serves, nothing to go back to, a version that does not
 * load, a pointer moved meanwhile, a history line not written): one line, for the user.
 */
export class RollbackError extends Error {
  override name = 'RollbackError';
}

export interface RollbackResult {
  /** The pointer change: this rollback's, or the earlier attempt's it found unrecorded. */
  change: ServingChange;
  /**
   * False when an earlier attempt of this rollback had moved the pointer but not recorded it:
   * its line is recorded now and the pointer is left where it is (moving it again would undo it).
   */
  moved: boolean;
  /** The line of the pointer's write found missing from the history and recorded now. */
  reconciled?: ServingChange;
}

/**
 * Points `model`'s serving pointer at `to` (default: the version that served before the one
 * serving now), after checking that it loads. The history is first made to cover the pointer's
 * current write (see reconcile), so "before" is read from the line of that write. A pointer that
 * is not one is replaced only with `to`: it cannot say what served before it.
 */
export async function rollbackServing(
  storage: Storage,
  model: string,
  options: { to?: string; reason?: string } = {},
): Promise<RollbackResult> {
  if (options.to !== undefined && !isModelName(options.to))
    throw new RollbackError(
      `${JSON.stringify(options.to)} is not a version name (letters, digits, _ and -)`,
    );
  let current;
  try {
    current = await readServingPointer(storage, model);
  } catch (err) {
    if (!(err instanceof ServingPointerError)) throw err;
    if (options.to === undefined)
      throw new RollbackError(
        `${err.message}: it cannot say what served before; bucketml rollback --to VERSION replaces it with a pointer to VERSION`,
      );
    const history = await readServingHistory(storage, model);
    const change = await swapTo(storage, model, history, {
      target: options.to,
      generation: err.generation,
      note: options.reason ?? `replaced a broken pointer (${err.problem})`,
    });
    return { change, moved: true };
  }
  if (!current) throw new RollbackError(`nothing serves model ${model}: nothing to roll back`);
  const { history, line, reconciled } = await reconcile(storage, current);
  const now = current.pointer.version;
  // An unrecorded rollback to the target is this rollback's own earlier attempt: it is done.
  if (reconciled?.reason === 'rollback' && (options.to ?? now) === now)
    return { change: reconciled, moved: false, reconciled };
  const target = options.to ?? line.from;
  if (!target)
    throw new RollbackError(
      `nothing to roll back to: version ${now} is the first version of ${model} that served`,
    );
  if (target === now) throw new RollbackError(`version ${now} is already serving ${model}`);
  const change = await swapTo(storage, model, history, {
    target,
    from: now,
    generation: current.generation,
    metric: current.pointer.metric,
    note: options.reason ?? `rolled back from ${now}`,
  });
  return { change, moved: true, ...(reconciled ? { reconciled } : {}) };
}

/**
 * The history, made to hold the line of the pointer's current write: a write whose line was not
 * appended (a crash or an error between the swap and the append) gets it now, rebuilt from the
 * pointer, under the pointer's generation, as its writer's retry would record it.
 */
async function reconcile(
  storage: Storage,
  current: { pointer: ServingPointer; generation: string },
): Promise<{ history: ServingChange[]; line: ServingChange; reconciled?: ServingChange }> {
  const history = await readServingHistory(storage, current.pointer.model);
  const line = history.find((c) => c.pointerGeneration === current.generation);
  if (line) return { history, line };
  const reconciled = servingChangeOf(current.pointer, current.generation);
  await recordServingChange(storage, reconciled);
  return { history: [...history, reconciled], line: reconciled, reconciled };
}

/** Swaps the pointer (at `generation`) to `target` once it loads, and records the change. */
async function swapTo(
  storage: Storage,
  model: string,
  history: ServingChange[],
  o: { target: string; from?: string; generation: string; metric?: string; note: string },
): Promise<ServingChange> {
  const { target, from } = o;
  const object = layout.servingPointer(model);
  const unchanged = from ? `${model} keeps serving ${from}` : `${object} is left as it is`;
  const prefix = layout.modelVersionPrefix(model, target);
  let saved;
  try {
    saved = await readModelObjects(storage, prefix);
    if (saved) new Predictor(saved);
  } catch (err) {
    throw new RollbackError(
      `version ${target} does not load (${err instanceof Error ? err.message : String(err)}): ${unchanged}`,
    );
  }
  if (!saved)
    throw new RollbackError(
      `version ${target} of ${model} is not deployed (no complete model under ${prefix}): ${unchanged}`,
    );
  // The figure the version was deployed with, where the history has it; else its own metric.
  const deployed = history.findLast((c) => c.to === target);
  const values = saved.meta.metrics.values ?? {};
  const metric = deployed?.metric ?? o.metric ?? Object.keys(values)[0] ?? 'rmse';
  const value = deployed?.value ?? values[metric] ?? NaN;
  const pointer: ServingPointer = {
    model,
    version: target,
    prefix,
    metric,
    value,
    runId: deployed?.runId ?? target,
    deployedAt: new Date().toISOString(),
    ...(from ? { previousVersion: from } : {}),
    reason: 'rollback',
    note: o.note,
  };
  let generation;
  try {
    // Compare-and-swap: a deployment or rollback that moved the pointer meanwhile wins.
    generation = await storage.write(object, JSON.stringify(pointer, null, 2), {
      ifGenerationMatch: o.generation,
    });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    throw new RollbackError(
      `${object} changed while rolling back (a deployment or another rollback moved it, and is not undone): nothing was changed; see bucketml models and roll back again if need be`,
    );
  }
  const change = servingChangeOf(pointer, generation);
  try {
    await recordServingChange(storage, change);
  } catch (err) {
    throw new RollbackError(
      `${model} now serves ${target}, but its history line was not written (${err instanceof Error ? err.message : String(err)}): run the same rollback again to record it`,
    );
  }
  return change;
}

export { readServingHistory, recordServingChange } from './serving-history.js';
export { listModels, readServingPointer, ServingPointerError } from './serving-pointer.js';
export { storageAt } from './storage-from-env.js';
