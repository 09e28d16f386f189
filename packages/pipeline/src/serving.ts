/**
 * @module serving
 * The predict API and the model server behind it: serves the model each serving pointer names
 * and swaps versions without blocking requests.
 */
import { isModelName, layout, MAX_REQUEST_BYTES, parametersError } from '@bucketml/contracts';
import { deserializeModel, Predictor, type ModelMetadata } from '@bucketml/model';
import type { Storage } from '@bucketml/ports';
import { readModelFiles } from './model-store.js';
import { listModels, readServingPointer, ServingPointerError } from './serving-pointer.js';

/** A serving version, loaded. */
export interface Loaded {
  version: string;
  generation: string;
  predictor: Predictor;
  meta: ModelMetadata;
}

interface Entry {
  loaded: Loaded | null;
  checkedAt: number;
  refreshing?: Promise<void>;
  /** Why the last load failed, while nothing could be served. */
  failure?: string;
}

/**
 * The named model is deployed but what is stored does not load (a pointer that is no pointer,
 * missing or corrupt files): retrying will not help. A storage failure is not one of these.
 */
export class ModelUnavailableError extends Error {
  override name = 'ModelUnavailableError';
}

/**
 * Loads the version the model's serving pointer names: null when the model has no pointer; a
 * ModelUnavailableError (with the reason) when what is stored does not load. Storage failures
 * are thrown as they come, so a caller that can retry (batch prediction) tells them apart.
 */
export async function loadServingModel(storage: Storage, model: string): Promise<Loaded | null> {
  let current: Awaited<ReturnType<typeof readServingPointer>>;
  try {
    current = await readServingPointer(storage, model);
  } catch (err) {
    if (err instanceof ServingPointerError) throw new ModelUnavailableError(err.message);
    throw err;
  }
  if (!current) return null;
  const { pointer, generation } = current;
  // The pointer's version folder (a prefix it names elsewhere is refused by readServingPointer).
  const prefix = layout.modelVersionPrefix(model, pointer.version);
  const files = await readModelFiles(storage, prefix);
  if (!files) throw new ModelUnavailableError(`${prefix} is incomplete`);
  // Past the reads, any failure is in what is stored.
  try {
    const saved = deserializeModel(files.modelJson, files.weights);
    const predictor = new Predictor(saved);
    return { version: pointer.version, generation, predictor, meta: saved.meta };
  } catch (err) {
    throw new ModelUnavailableError(`${prefix}: ${(err as Error).message}`);
  }
}

/**
 * Serves the model each serving pointer names. The pointer is revalidated at most every
 * `revalidateMs` (a metadata read); when its generation changes the new version is loaded in
 * the background and swapped in with one assignment, so a busy server's requests never wait
 * for a load and never see a half-loaded one. An idle server (no revalidation for twice that
 * time) has the request that wakes it wait for the check, and the load if the pointer moved:
 * otherwise the first answer after a deploy or rollback, however long ago, would be the old
 * version's. A failed load keeps the serving model and is retried at the next revalidation.
 */
export class ModelServer {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly storage: Storage,
    private readonly revalidateMs = 1000,
    private readonly onLoadError: (model: string, err: unknown) => void = () => {},
  ) {}

  async get(model: string): Promise<Loaded | null> {
    let entry = this.entries.get(model);
    if (!entry) {
      entry = { loaded: null, checkedAt: 0 };
      this.entries.set(model, entry);
    }
    const sinceCheck = Date.now() - entry.checkedAt;
    let idle = false;
    if (sinceCheck >= this.revalidateMs) {
      const current = entry;
      idle = sinceCheck >= 2 * this.revalidateMs;
      current.checkedAt = Date.now();
      current.refreshing ??= this.refresh(model, current)
        .then(() => (current.failure = undefined))
        .catch((err) => {
          const failure = err instanceof Error ? err.message : String(err);
          // Retried at every revalidation; said once while it fails the same way.
          if (failure !== current.failure) this.onLoadError(model, err);
          current.failure = failure;
        })
        .finally(() => (current.refreshing = undefined));
    }
    // The first load is awaited (by every request that arrives during it, preload's too), and an
    // idle server's check; a busy server's swaps happen behind the serving model.
    if ((!entry.loaded || idle) && entry.refreshing) await entry.refreshing;
    if (!entry.loaded && entry.failure)
      throw new ModelUnavailableError(`model ${model} cannot be loaded: ${entry.failure}`);
    // Only deployed models stay in the map: a request for any other name costs one metadata
    // read and leaves nothing behind (names are the caller's to choose).
    if (!entry.loaded && !entry.refreshing) this.entries.delete(model);
    return entry.loaded;
  }

  /** How many models this server holds (deployed ones, and those still loading). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Loads every deployed model now (while the instance starts), so the first request finds
   * its model ready instead of paying for the read.
   */
  async preload(): Promise<string[]> {
    const models = await listModels(this.storage);
    await Promise.all(models.map((m) => this.get(m).catch(() => null)));
    return models;
  }

  private async refresh(model: string, entry: Entry): Promise<void> {
    const info = await this.storage.stat(layout.servingPointer(model));
    if (!info || info.generation === entry.loaded?.generation) return;
    const loaded = await loadServingModel(this.storage, model);
    if (loaded) entry.loaded = loaded;
  }
}

export interface PredictRequest {
  method: string;
  path: string;
  contentType?: string;
  /** Size of the request body as received, for the size limit. */
  bodyBytes?: number;
  body: unknown;
}

export interface PredictResponse {
  status: number;
  body: object;
}

/** Instances per request; bodies are limited to MAX_REQUEST_BYTES (1.5 MB, as Vertex AI's). */
export const MAX_INSTANCES = 10_000;
const MODEL_IN_PATH = /^\/([^/]+)\/?$/;

/**
 * The predict API: POST /<model> {"instances": [...]} → {"predictions": [...], "model": {...}};
 * GET /<model> → the serving model's name, version, metrics and input schema.
 * Bad requests get 4xx with reasons; a bad instance gets a 400 naming its index and field.
 */
export async function handlePredict(
  server: ModelServer,
  req: PredictRequest,
): Promise<PredictResponse> {
  const m = MODEL_IN_PATH.exec(req.path);
  if (!m || !isModelName(m[1]))
    return {
      status: 404,
      body: { error: 'use POST /<model> with {"instances": [...]}, e.g. POST /babyweight' },
    };
  if (req.method !== 'POST' && req.method !== 'GET')
    return {
      status: 405,
      body: { error: `method ${req.method} not allowed: use POST (predict) or GET (model info)` },
    };
  // Cheap checks first: a bad request costs no model lookup.
  if (req.method === 'POST') {
    if (!/^application\/json\b/i.test(req.contentType ?? ''))
      return { status: 415, body: { error: 'send JSON: Content-Type: application/json' } };
    if ((req.bodyBytes ?? 0) > MAX_REQUEST_BYTES)
      return {
        status: 413,
        body: {
          error: `the body is ${req.bodyBytes} bytes; the limit is ${MAX_REQUEST_BYTES}: send fewer instances per request`,
        },
      };
  }
  let loaded: Loaded | null;
  try {
    loaded = await server.get(m[1]);
  } catch (err) {
    if (err instanceof ModelUnavailableError) return { status: 503, body: { error: err.message } };
    throw err;
  }
  if (!loaded) return { status: 404, body: { error: `no model named ${m[1]} is deployed` } };
  const model = { name: loaded.meta.name, version: loaded.version };
  if (req.method === 'GET') {
    return {
      status: 200,
      body: {
        model: {
          ...model,
          metrics: loaded.meta.metrics,
          createdAt: loaded.meta.createdAt,
          trainedWith: loaded.meta.training.backend,
        },
        inputs: loaded.predictor.encoder.inputColumns(),
        label: loaded.predictor.labelName,
        key: loaded.predictor.keyName,
      },
    };
  }
  return answerInstances(loaded.predictor, req.body, model);
}

/**
 * The answer to a predict body {"instances": [...]}: {"predictions": [...]} (with `model` when
 * given), or a 400 naming each invalid instance.
 */
export function answerInstances(
  predictor: Predictor,
  body: unknown,
  model?: { name: string; version: string },
): PredictResponse {
  const instances = (body as { instances?: unknown } | null)?.instances;
  if (!Array.isArray(instances))
    return {
      status: 400,
      body: { error: 'the body must be a JSON object with an "instances" array' },
    };
  const invalidParameters = parametersError(body);
  if (invalidParameters) return { status: 400, body: { error: invalidParameters } };
  if (instances.length === 0 || instances.length > MAX_INSTANCES)
    return {
      status: 400,
      body: {
        error: `"instances" must hold 1 to ${MAX_INSTANCES} instances; it holds ${instances.length}`,
      },
    };
  const predictions: object[] = [];
  const errors: object[] = [];
  instances.forEach((instance, index) => {
    const p = predictor.predictInstance(instance);
    if (p.error !== undefined) errors.push({ index, ...p.key, error: p.error });
    else predictions.push(predictor.answer(p));
  });
  if (errors.length > 0) {
    return {
      status: 400,
      body: {
        error: `${errors.length} of ${instances.length} instance(s) are invalid`,
        instances: errors,
        ...(model ? { model } : {}),
      },
    };
  }
  return { status: 200, body: { predictions, ...(model ? { model } : {}) } };
}

export { storageFromEnv } from './storage-from-env.js';
