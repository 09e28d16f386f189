/**
 * @module bench/training-worker
 * One measurement of the training benchmark (training.ts) in a fresh process, which has one
 * engine (and, for tfjs, one backend and kernel registry): argv[2] is `fused` or `wasm` / `cpu`
 * (the tfjs reference on that backend), argv[3] the batch size, argv[4] the first hidden
 * layer's width (the second is half of it), argv[5] the training examples. Trains babyweight's
 * default model with one evaluation and prints {examplesPerSecond, examples, backend, rmse}.
 */
import { join } from 'node:path';
import { BUILTIN_SPECS, fileSource } from '@bucketml/model';
import { loadTensorFlow, trainModel, type TrainingEngine } from '@bucketml/trainer';

const [engine, batch, width, examples] = process.argv.slice(2);
const DATA = join(import.meta.dirname, '../../data/babyweight');
const spec = BUILTIN_SPECS.babyweight;
const tensorflow: TrainingEngine =
  engine === 'fused' ? { backend: 'fused', notes: [] } : await loadTensorFlow(engine as 'wasm');
const nnsize = [Number(width), Math.max(1, Math.round(Number(width) / 2))];
const r = await trainModel({
  spec,
  train: [fileSource(join(DATA, 'train.csv'))],
  eval: [fileSource(join(DATA, 'eval.csv'))],
  hyperparameters: {
    ...spec.hyperparameters,
    batchSize: Number(batch),
    nnsize,
    ensemble: 1,
    trainExamples: Number(examples),
  },
  seed: 1,
  evaluations: 1,
  tensorflow,
});
const t = r.model.meta.training;
console.log(
  JSON.stringify({
    examplesPerSecond: t.examplesPerSecond,
    examples: t.examples,
    backend: t.backend,
    rmse: r.model.meta.metrics.values?.rmse,
  }),
);
