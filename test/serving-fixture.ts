import { join } from 'node:path';
import {
  BUILTIN_SPECS,
  fileSource,
  MODEL_FILE,
  serializeModel,
  WEIGHTS_FILE,
} from '@bucketml/model';
import type { ServingPointer } from '@bucketml/contracts';
import { readServingPointer, recordServingChange } from '@bucketml/pipeline/admin';
import { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { loadTrainingEngine, trainModel } from '@bucketml/trainer';
import { DATA } from './helpers.ts';

/**
 * A small babyweight model trained in this process (seconds), serialised as a model directory:
 * one network (the serving bench loads its weights into a single tfjs network).
 */
export async function trainSmallModel(
  seed: number,
  trainExamples = 20_000,
): Promise<{ modelJson: Buffer; weightsBin: Buffer }> {
  const spec = BUILTIN_SPECS.babyweight;
  const { model } = await trainModel({
    spec,
    train: [fileSource(join(DATA, 'babyweight/train.csv'))],
    eval: [fileSource(join(DATA, 'babyweight/eval.csv'))],
    hyperparameters: { ...spec.hyperparameters, trainExamples, ensemble: 1 },
    seed,
    tensorflow: await loadTrainingEngine(),
  });
  return serializeModel(model);
}

/** Deploys a model version as the deploy stage does: its files first, then the serving pointer. */
export async function deployVersion(
  bucket: DirectoryBucket,
  model: string,
  version: string,
  files: { modelJson: Buffer; weightsBin: Buffer },
): Promise<void> {
  const prefix = `models/${model}/${version}/`;
  await bucket.write(prefix + WEIGHTS_FILE, files.weightsBin);
  await bucket.write(prefix + MODEL_FILE, files.modelJson);
  const meta = JSON.parse(files.modelJson.toString('utf8'));
  const pointer: ServingPointer = {
    model,
    version,
    prefix,
    metric: 'rmse',
    value: meta.metrics.rmse,
    runId: version,
    deployedAt: new Date().toISOString(),
  };
  const previous = await readServingPointer(bucket, model);
  const pointerGeneration = await bucket.write(
    `models/${model}/serving.json`,
    JSON.stringify({ ...pointer, previousVersion: previous?.pointer.version }),
  );
  // As the deploy stage records it.
  await recordServingChange(bucket, {
    at: pointer.deployedAt,
    model,
    reason: 'deploy',
    ...(previous ? { from: previous.pointer.version } : {}),
    to: version,
    runId: version,
    metric: 'rmse',
    value: pointer.value,
    pointerGeneration,
  });
}

/** A valid babyweight instance. */
export const BABY = {
  is_male: 'True',
  mother_age: 26,
  plurality: 'Single(1)',
  gestation_weeks: 39,
};
