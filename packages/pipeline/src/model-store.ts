/**
 * @module model-store
 * Model directories in the bucket: read whole or not at all, copied so a reader never sees half
 * a model, and evaluated with the predictor that serves them.
 */
import {
  DataError,
  deserializeModel,
  MODEL_FILE,
  normalizeDense,
  Predictor,
  readDataset,
  WEIGHTS_FILE,
  type CsvRow,
  type Dataset,
  type SavedModel,
} from '@bucketml/model';
import type { Storage } from '@bucketml/ports';
import { storageSource } from './storage-source.js';
import type { RowHashes } from './trained-rows.js';

/** Reads a model directory written by `bucketml train`; null if incomplete. */
export async function readModelObjects(
  storage: Storage,
  prefix: string,
): Promise<SavedModel | null> {
  const files = await readModelFiles(storage, prefix);
  return files && deserializeModel(files.modelJson, files.weights);
}

/**
 * A model directory's two files, as stored (null if either is missing): for a caller that tells
 * a failed read (storage) from what was read not being a model.
 */
export async function readModelFiles(
  storage: Storage,
  prefix: string,
): Promise<{ modelJson: Buffer; weights: Buffer } | null> {
  const modelJson = await storage.read(prefix + MODEL_FILE);
  if (!modelJson) return null;
  const weights = await storage.read(prefix + WEIGHTS_FILE);
  return weights ? { modelJson: modelJson.data, weights: weights.data } : null;
}

/** Copies a model directory, weights first and model.json last (its presence marks completeness). */
export async function copyModelObjects(storage: Storage, from: string, to: string): Promise<void> {
  for (const file of [WEIGHTS_FILE, MODEL_FILE]) {
    const obj = await storage.read(from + file);
    if (!obj) throw new Error(`${from + file} is missing`);
    await storage.write(to + file, obj.data);
  }
}

/**
 * A model's metrics on CSV objects, through the same lean predictor that serves it, without the
 * rows in `leaveOut` (counted in `leftOut`).
 */
export async function evaluateOn(
  storage: Storage,
  model: SavedModel,
  objects: string[],
  leaveOut: RowHashes | null = null,
): Promise<{ values: Record<string, number>; rows: number; leftOut: number }> {
  const predictor = new Predictor(model);
  let leftOut = 0;
  let seen = 0;
  const skipRow = (row: CsvRow) => (seen++, leaveOut!.has(row.valuesHash()) && ++leftOut > 0);
  let data: Dataset;
  try {
    data = await readDataset(
      objects.map((o) => storageSource(storage, o)),
      predictor.encoder,
      leaveOut ? { skipRow } : {},
    );
  } catch (err) {
    // Every row left out: nothing to measure on (the reader refuses data without rows).
    if (err instanceof DataError && seen > 0 && leftOut === seen)
      return { values: {}, rows: 0, leftOut };
    throw err;
  }
  normalizeDense(model.meta.preprocessing, data.dense);
  return { values: predictor.evaluate(data).values, rows: data.size, leftOut };
}
