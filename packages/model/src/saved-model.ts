/**
 * @module saved-model
 * The exported model directory: `model.json` (everything but the weights) and `weights.bin`
 * (little-endian float32, laid out as `weights` says). It is self-contained: serving needs
 * neither the training data nor TensorFlow.js. `model.json` is written last and names the
 * checksum of `weights.bin`, so a reader never accepts a half-written model.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { elementCount, weightSpecs } from './architecture.js';
import type { DataFileInfo, BadRow } from './dataset.js';
import { featureLayout } from './features.js';
import type { Preprocessing } from './preprocessing.js';
import { outputUnits, parseSpec, type Hyperparameters, type ModelSpec } from './spec.js';

/** The format tag in model.json; a reader refuses any other. */
export const MODEL_FORMAT = 'bucketml.saved-model/1';
export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

export interface DataLineage {
  files: DataFileInfo[];
  rowsRead: number;
  rowsUsed: number;
  /** Rows without a label, skipped (absent in models saved before they were counted). */
  unlabelledRows?: number;
  badRows: number;
  badRowSamples: BadRow[];
}

export interface ModelMetadata {
  format: typeof MODEL_FORMAT;
  name: string;
  createdAt: string;
  spec: ModelSpec;
  preprocessing: Preprocessing;
  hyperparameters: Hyperparameters;
  seed: number;
  /**
   * The kept weights' eval metrics (an ensemble's: of its mean output): `objective` is the tag
   * training kept the best weights by, `values` every metric the problem type reports (rmse;
   * logloss, accuracy, auc or f1_macro), `rmse` a regressor's (also in `values`), `confusion` a
   * classifier's [true class][predicted class] counts. bestStep: the first network's best
   * step; memberValues: each network's own objective, for an ensemble.
   */
  metrics: {
    objective?: string;
    values?: Record<string, number>;
    rmse?: number;
    confusion?: number[][];
    evalRows: number;
    trainRmse?: number;
    bestStep?: number;
    memberValues?: number[];
  };
  training: {
    /** The TensorFlow.js backend that trained the model: tensorflow, wasm or cpu. */
    backend: string;
    examples: number;
    steps: number;
    seconds: number;
    examplesPerSecond: number;
    /** Why training ended before its budget, if it did. */
    stopReason?: 'caller' | 'converged';
    /** The eval objective still improved at the last measurement: a longer budget would probably help. */
    stillImproving?: boolean;
  };
  data: { train: DataLineage; eval: DataLineage };
  weights: { name: string; shape: number[]; offset: number }[];
  weightsFile: { bytes: number; sha256: string };
}

/** A model as training produces it; serialising adds the weights index and checksum. */
export interface TrainedModel {
  meta: Omit<ModelMetadata, 'weights' | 'weightsFile'>;
  weights: Map<string, Float32Array>;
}

export interface SavedModel extends TrainedModel {
  meta: ModelMetadata;
}

export class ModelFormatError extends Error {
  override name = 'ModelFormatError';
}

export function serializeModel(model: TrainedModel): {
  modelJson: Buffer;
  weightsBin: Buffer;
} {
  const layout = featureLayout(model.meta.spec);
  const specs = weightSpecs(layout, model.meta.hyperparameters, outputUnits(model.meta.spec));
  const total = specs.reduce((n, s) => n + elementCount(s.shape), 0);
  const all = new Float32Array(total);
  const index: ModelMetadata['weights'] = [];
  let offset = 0;
  for (const s of specs) {
    const w = model.weights.get(s.name);
    if (!w || w.length !== elementCount(s.shape)) {
      throw new ModelFormatError(`weight ${s.name} missing or not of shape [${s.shape}]`);
    }
    all.set(w, offset);
    index.push({ ...s, offset });
    offset += w.length;
  }
  // Float32Array is little-endian on every platform Node supports.
  const weightsBin = Buffer.from(all.buffer, all.byteOffset, all.byteLength);
  const meta: ModelMetadata = {
    ...model.meta,
    weights: index,
    weightsFile: { bytes: weightsBin.length, sha256: sha256(weightsBin) },
  };
  return { modelJson: Buffer.from(JSON.stringify(meta, null, 2) + '\n'), weightsBin };
}

export function deserializeModel(modelJson: Buffer | string, weightsBin: Buffer): SavedModel {
  let meta: ModelMetadata;
  try {
    meta = JSON.parse(modelJson.toString());
  } catch (err) {
    throw new ModelFormatError(`${MODEL_FILE} is not JSON: ${(err as Error).message}`);
  }
  if (meta?.format !== MODEL_FORMAT)
    throw new ModelFormatError(`${MODEL_FILE}: unknown format ${JSON.stringify(meta?.format)}`);
  if (
    weightsBin.length !== meta.weightsFile.bytes ||
    sha256(weightsBin) !== meta.weightsFile.sha256
  ) {
    throw new ModelFormatError(
      `${WEIGHTS_FILE} does not match the checksum in ${MODEL_FILE} (incomplete or altered)`,
    );
  }
  meta.spec = parseSpec(meta.spec);
  // Copy into an aligned buffer: a Buffer's byteOffset need not be a multiple of 4.
  const all = new Float32Array(new Uint8Array(weightsBin).buffer);
  const weights = new Map<string, Float32Array>();
  for (const w of meta.weights)
    weights.set(w.name, all.subarray(w.offset, w.offset + elementCount(w.shape)));
  const expected = weightSpecs(
    featureLayout(meta.spec),
    meta.hyperparameters,
    outputUnits(meta.spec),
  );
  for (const s of expected) {
    const w = meta.weights.find((x) => x.name === s.name);
    if (!w || w.shape.join() !== s.shape.join())
      throw new ModelFormatError(`weight ${s.name} missing or not of shape [${s.shape}]`);
  }
  return { meta, weights };
}

/**
 * Writes the model into `dir` (created if needed). Each file goes to a temporary name and is
 * renamed into place, weights first and model.json last.
 */
export async function writeModelDir(
  dir: string,
  files: { modelJson: Buffer; weightsBin: Buffer },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tag = randomBytes(4).toString('hex');
  for (const [name, data] of [
    [WEIGHTS_FILE, files.weightsBin],
    [MODEL_FILE, files.modelJson],
  ] as const) {
    const tmp = join(dir, `.${name}.${tag}.tmp`);
    try {
      await writeFile(tmp, data);
      await rename(tmp, join(dir, name));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

/**
 * A model's eval value of a metric tag (models saved before `values` existed have only rmse);
 * undefined when the model does not report it.
 */
export function modelMetric(meta: Pick<ModelMetadata, 'metrics'>, tag: string): number | undefined {
  return meta.metrics.values?.[tag] ?? (tag === 'rmse' ? meta.metrics.rmse : undefined);
}

export async function readModelDir(dir: string): Promise<SavedModel> {
  const read = (name: string) =>
    readFile(join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      throw new ModelFormatError(
        err.code === 'ENOENT' ? `${join(dir, name)} not found: not a model directory` : err.message,
      );
    });
  const modelJson = await read(MODEL_FILE);
  return deserializeModel(modelJson, await read(WEIGHTS_FILE));
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
