/**
 * @module bench/equality-worker
 * One training of the equality benchmark (equality.ts) in a fresh process: argv[2] the engine
 * (`fused` or `wasm`, the tfjs reference), argv[3] a table of quality/tables.json, argv[4] the
 * seed. The built-in model's spec and hyperparameters, or for other tables the spec inferred
 * from the label and the default hyperparameters; trains on train.csv, measured on eval.csv.
 * Prints {engine, table, seed, objective, value, seconds}.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_SPECS, fileSource, inferSpec } from '@bucketml/model';
import { loadTensorFlow, trainModel, type TrainingEngine } from '@bucketml/trainer';
import type { QualityTable } from './quality.ts';

const [engine, name, seed] = process.argv.slice(2);
const ROOT = join(import.meta.dirname, '../..');
const tables = JSON.parse(readFileSync(join(import.meta.dirname, 'quality/tables.json'), 'utf8'))
  .tables as QualityTable[];
const table = tables.find((t) => t.name === name)!;
const train = [fileSource(join(ROOT, table.train))];
const spec = table.ours
  ? BUILTIN_SPECS[table.ours]
  : await inferSpec(train, { name: table.name, label: table.label });
const tensorflow: TrainingEngine =
  engine === 'fused' ? { backend: 'fused', notes: [] } : await loadTensorFlow(engine as 'wasm');
const r = await trainModel({
  spec,
  train,
  eval: [fileSource(join(ROOT, table.eval))],
  hyperparameters: spec.hyperparameters,
  seed: Number(seed),
  tensorflow,
});
const { metrics, training } = r.model.meta;
console.log(
  JSON.stringify({
    engine,
    table: name,
    seed: Number(seed),
    objective: metrics.objective,
    value: metrics.values?.[metrics.objective ?? 'rmse'],
    seconds: training.seconds,
  }),
);
