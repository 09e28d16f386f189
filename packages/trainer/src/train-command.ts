import { METRIC_TAG } from '@bucketml/contracts';
import { resolve } from 'node:path';
import { parseHyperparameters, serializeModel, SpecError, writeModelDir, type Hyperparameters, type ModelSpec } from '@bucketml/model';
import { parseFlags, usage, UsageError, type FlagSpec } from './args.js';
import { expandDataFiles } from './data-files.js';
import { localPathOf } from './gcs-fuse.js';
import { HypertuneReporter } from './hypertune.js';
import { progressPrinter } from './progress.js';
import { resolveSpec } from './resolve-spec.js';
import { loadTensorFlow } from './tf-backend.js';
import { trainModel } from './train.js';

const FLAGS: Record<string, FlagSpec> = {
  model: { type: 'string', help: 'babyweight, taxifare, or the path of a model spec JSON file' },
  'train-data': { type: 'list', help: 'training CSV files or globs (e.g. data/train-*.csv)' },
  'eval-data': { type: 'list', help: 'evaluation CSV files or globs' },
  'output-dir': { type: 'string', help: 'where to write the model (default: $AIP_MODEL_DIR)' },
  'batch-size': { type: 'int', help: 'examples per gradient step' },
  nnsize: { type: 'intlist', help: 'DNN hidden layer sizes, e.g. 64 32' },
  nembeds: { type: 'int', help: 'embedding dimension of sparse deep features' },
  'learning-rate': { type: 'number', help: 'Adam learning rate' },
  'train-examples': { type: 'int', help: 'examples to train on (cycles through the data)' },
  seed: { type: 'int', help: 'seed for shuffling and initialisation', default: '42' },
  'max-bad-rows': { type: 'number', help: 'fail when more than this fraction of rows is invalid', default: '0.05' },
  evaluations: { type: 'int', help: 'eval RMSE measurements during training (hypertune intermediate values)', default: '10' },
  help: { type: 'boolean', help: 'show this help' },
};

const SUMMARY = `Trains a wide & deep regressor and writes a self-contained model directory.
The counterpart of the course's \`python -m trainer.task\`, with Vertex AI's contract:
AIP_MODEL_DIR is the default output, and when CLOUD_ML_HP_METRIC_FILE is set the eval RMSE is
reported there (tag "rmse") as the hypertune library does. Hyperparameter flags also accept
snake_case (--batch_size), as Vertex passes tuned parameters.`;

export async function trainCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, FLAGS);
  if (flags.help) {
    process.stdout.write(usage('train', SUMMARY, FLAGS));
    return 0;
  }
  if (!flags.model) throw new UsageError('--model is required (babyweight, taxifare or a spec file)');
  const outputUri = (flags['output-dir'] as string | undefined) ?? process.env.AIP_MODEL_DIR;
  if (!outputUri) throw new UsageError('--output-dir is required when AIP_MODEL_DIR is not set');
  let outputDir: string;
  try {
    outputDir = localPathOf(outputUri, '--output-dir');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const maxBad = flags['max-bad-rows'] as number;
  if (!(maxBad >= 0 && maxBad <= 1)) throw new UsageError('--max-bad-rows must be a fraction between 0 and 1');

  const spec = await resolveSpec(flags.model as string);
  const hyperparameters = hyperparametersFrom(spec, flags);
  const train = await expandDataFiles((flags['train-data'] as string[]) ?? [], '--train-data');
  const evalData = await expandDataFiles((flags['eval-data'] as string[]) ?? [], '--eval-data');
  const tensorflow = await loadTensorFlow();
  const say = (line: string) => process.stderr.write(line + '\n');
  say(`bucketml train: model ${spec.name}, backend ${tensorflow.backend}${tensorflow.notes.length ? ` (${tensorflow.notes.join('; ')})` : ''}`);
  say(`hyperparameters: ${JSON.stringify(hyperparameters)}, seed ${flags.seed}`);

  const hypertune = HypertuneReporter.fromEnv();
  const result = await trainModel({
    spec,
    train,
    eval: evalData,
    hyperparameters,
    seed: flags.seed as number,
    maxBadFraction: maxBad,
    evaluations: flags.evaluations as number,
    tensorflow,
    onProgress: progressPrinter(),
    onEvaluation: (e) => hypertune?.report(METRIC_TAG, e.rmse, e.step),
  });
  const { meta } = result.model;
  for (const [which, d] of [['train', meta.data.train], ['eval', meta.data.eval]] as const) {
    if (d.badRows === 0) continue;
    say(`skipped ${d.badRows} invalid ${which} row(s) of ${d.rowsRead}:`);
    for (const b of d.badRowSamples.slice(0, 5)) say(`  ${b.file}:${b.line}: ${b.reason}`);
  }
  const dir = resolve(outputDir);
  await writeModelDir(dir, serializeModel(result.model));
  const t = meta.training;
  say(`trained on ${t.examples.toLocaleString('en-US')} examples in ${t.seconds.toFixed(1)} s (${t.examplesPerSecond.toLocaleString('en-US')} ex/s, ${t.backend} backend)`);
  say(`model written to ${dir}`);
  process.stdout.write(`eval rmse: ${meta.metrics.rmse.toFixed(4)} (${meta.metrics.evalRows} rows)\n`);
  return 0;
}

function hyperparametersFrom(spec: ModelSpec, flags: Record<string, unknown>): Hyperparameters {
  const overrides: Record<string, unknown> = {};
  const map: Record<string, keyof Hyperparameters> = {
    'batch-size': 'batchSize',
    nnsize: 'nnsize',
    nembeds: 'nembeds',
    'learning-rate': 'learningRate',
    'train-examples': 'trainExamples',
  };
  for (const [flag, key] of Object.entries(map)) if (flags[flag] !== undefined) overrides[key] = flags[flag];
  const problems: string[] = [];
  const hp = parseHyperparameters(overrides, (m) => problems.push(m), spec.hyperparameters);
  if (problems.length) throw new SpecError(problems);
  return hp;
}
