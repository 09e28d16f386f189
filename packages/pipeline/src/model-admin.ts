/**
 * @module model-admin
 * What `bucketml models` and `bucketml rollback` do, on any Storage: a model's versions with
 * their metrics, the bucket objects (and generations) each was trained on and when each
 * served; and a rollback, which moves the serving pointer by compare-and-swap to an earlier
 * version that loads, and records the change in the serving history. Predict follows the
 * pointer, so it picks a rollback up as it picks up a deployment.
 */
import {
  layout,
  type DataObject,
  type ServingChange,
  type ServingPointer,
} from '@bucketml/contracts';
import { Predictor, type ModelMetadata } from '@bucketml/model';
import type { Storage } from '@bucketml/ports';
import { readModelObjects } from './model-store.js';
import { RunStore } from './run-store.js';
import { readServingHistory, recordServingChange } from './serving-history.js';
import { readServingPointer } from './serving-pointer.js';

export interface ModelVersionInfo {
  version: string;
  serving: boolean;
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
  versions: ModelVersionInfo[];
}

/** A model's deployed versions, oldest first. */
export async function listModelVersions(storage: Storage, model: string): Promise<ModelListing> {
  const [pointer, history, objects] = await Promise.all([
    readServingPointer(storage, model),
    readServingHistory(storage, model),
    storage.list(`${layout.modelsRoot}${model}/`),
  ]);
  const versions = [
    ...new Set(
      objects
        .map((o) => /^models\/[^/]+\/([^/]+)\/model\.json$/.exec(o.name)?.[1])
        .filter((v) => v !== undefined),
    ),
  ];
  const infos = await Promise.all(
    versions.map(async (version): Promise<ModelVersionInfo> => {
      const [meta, run] = await Promise.all([
        storage
          .read(layout.modelVersionPrefix(model, version) + 'model.json')
          .then((o) => (o ? (JSON.parse(o.data.toString('utf8')) as ModelJsonHead) : null))
          .catch(() => null),
        new RunStore(storage)
          .get(version)
          .then((found) => found?.run ?? null)
          .catch(() => null),
      ]);
      return {
        version,
        serving: pointer?.pointer.version === version,
        ...(meta?.createdAt ? { createdAt: meta.createdAt } : {}),
        metrics:
          meta?.metrics?.values ??
          (meta?.metrics?.rmse !== undefined ? { rmse: meta.metrics.rmse } : {}),
        lineage: run?.data.objects ?? [],
        served: servedPeriods(history, version),
      };
    }),
  );
  infos.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
  return {
    model,
    ...(pointer ? { serving: pointer.pointer.version } : {}),
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

/** Why a rollback cannot be done (nothing serves, nothing to go back to, a version that does not load). */
export class RollbackError extends Error {
  override name = 'RollbackError';
}

/**
 * Points `model`'s serving pointer at `to` (default: the version that served before the one
 * serving now), after checking that it loads. Returns the change recorded.
 */
export async function rollbackServing(
  storage: Storage,
  model: string,
  options: { to?: string; reason?: string } = {},
): Promise<ServingChange> {
  const current = await readServingPointer(storage, model);
  if (!current) throw new RollbackError(`nothing serves model ${model}: nothing to roll back`);
  const history = await readServingHistory(storage, model);
  const now = current.pointer.version;
  const target = options.to ?? previousVersion(history, current.pointer);
  if (!target)
    throw new RollbackError(
      `nothing to roll back to: version ${now} is the first version of ${model} that served`,
    );
  if (target === now) throw new RollbackError(`version ${now} is already serving ${model}`);
  const prefix = layout.modelVersionPrefix(model, target);
  let saved;
  try {
    saved = await readModelObjects(storage, prefix);
    if (saved) new Predictor(saved);
  } catch (err) {
    throw new RollbackError(
      `version ${target} does not load (${err instanceof Error ? err.message : String(err)}): ${model} keeps serving ${now}`,
    );
  }
  if (!saved)
    throw new RollbackError(
      `version ${target} of ${model} is not deployed (no complete model under ${prefix}): ${model} keeps serving ${now}`,
    );
  // The figure the version was deployed with, where the history has it; else its own metric.
  const deployed = history.findLast((c) => c.to === target);
  const metric = deployed?.metric ?? current.pointer.metric;
  const value = deployed?.value ?? saved.meta.metrics.values?.[metric] ?? NaN;
  const pointer: ServingPointer = {
    model,
    version: target,
    prefix,
    metric,
    value,
    runId: deployed?.runId ?? target,
    deployedAt: new Date().toISOString(),
    previousVersion: now,
  };
  // Compare-and-swap: a deployment or rollback that moved the pointer meanwhile wins, and this
  // one fails (PreconditionFailedError) rather than undo it unseen.
  const generation = await storage.write(
    layout.servingPointer(model),
    JSON.stringify(pointer, null, 2),
    { ifGenerationMatch: current.generation },
  );
  const change: ServingChange = {
    at: pointer.deployedAt,
    model,
    reason: 'rollback',
    from: now,
    to: target,
    runId: pointer.runId,
    metric,
    value,
    note: options.reason ?? `rolled back from ${now}`,
    pointerGeneration: generation,
  };
  await recordServingChange(storage, change);
  return change;
}

/** The version that served before the current one: the history's, else the pointer's own. */
function previousVersion(history: ServingChange[], pointer: ServingPointer): string | undefined {
  const last = history.findLast((c) => c.to === pointer.version);
  return last?.from ?? pointer.previousVersion;
}

export { readServingHistory, recordServingChange } from './serving-history.js';
export { listModels, readServingPointer } from './serving-pointer.js';
export { storageAt } from './storage-from-env.js';
