/**
 * @module verbs/train
 * `bucketml train`: trains a model on CSV files and writes a model directory. This is the
 * trainer image's entry point, with Vertex AI's contract: AIP_MODEL_DIR is the default output,
 * snake_case flags are accepted, every eval metric goes to the hypertune metric file, a repeated
 * flag keeps its last value. Every training also leaves a TensorBoard event file
 * (AIP_TENSORBOARD_LOG_DIR, else beside the model). Training itself is @bucketml/trainer's.
 */
import { resolve } from 'node:path';
import {
  HYPERPARAMETER_FLAGS,
  inferSpec,
  parseHyperparameters,
  serializeModel,
  SpecError,
  writeModelDir,
  type Hyperparameters,
  type ModelSpec,
} from '@bucketml/model';
import {
  expandDataFiles,
  HypertuneReporter,
  loadTrainingEngine,
  localPathOf,
  hparamsOf,
  progressPrinter,
  resolveSpec,
  tensorboardLogDir,
  trainModel,
  TrainingEvents,
} from '@bucketml/trainer';
import { UsageError } from '../flags.js';
import { defineVerb } from '../verb.js';

export const train = defineVerb({
  name: 'train',
  summary: 'train a model on CSV files and write a model directory',
  description: `Trains a wide & deep regressor (numeric label) or classifier (categorical label) and
writes a self-contained model directory. The counterpart of the course's \`python -m
trainer.task\`, with Vertex AI's contract: AIP_MODEL_DIR is the default output, and when
CLOUD_ML_HP_METRIC_FILE is set every eval metric is reported there under its own tag (rmse;
logloss, accuracy, auc or f1_macro) as the hypertune library does. Each training writes a
TensorBoard event file (loss, eval metrics and examples/s per evaluation; the hyperparameters
for the HParams dashboard) to AIP_TENSORBOARD_LOG_DIR when set, else beside the model: a
job's <dir>/tensorboard/ when the output is <dir>/model, else <output-dir>.tensorboard/; a
write error there is a warning, never a failed training. Flags also accept snake_case
(--batch_size), as Vertex passes tuned parameters; a repeated flag keeps its last value.
Hyperparameters left out take the model's defaults. Without --model, --label names the column to
predict and the spec is inferred from the training files' header and data (see infer-spec); the
inferred spec and the data's statistics are saved inside the model.`,
  flags: [
    {
      name: 'model',
      type: 'string',
      help: 'babyweight, taxifare, or the path of a model spec JSON file (default: none, give --label)',
    },
    {
      name: 'label',
      type: 'string',
      help: 'the column to predict: the spec is inferred from the training data (default: none, give --model)',
    },
    {
      name: 'key',
      type: 'string',
      help: 'with --label: a column passed through to predictions (default: one named like an id)',
    },
    {
      name: 'train-data',
      type: 'string',
      multiple: true,
      required: true,
      help: 'training CSV files or globs (e.g. data/train-*.csv)',
    },
    {
      name: 'eval-data',
      type: 'string',
      multiple: true,
      required: true,
      help: 'evaluation CSV files or globs',
    },
    {
      name: 'output-dir',
      type: 'string',
      help: 'where to write the model, a path or gs:// URI (default: $AIP_MODEL_DIR)',
    },
    {
      name: 'batch-size',
      type: 'positive-int',
      help: "examples per gradient step (default: the model's)",
    },
    {
      name: 'nnsize',
      type: 'positive-int',
      multiple: true,
      help: "DNN hidden layer sizes, e.g. 64 32 (default: the model's)",
    },
    {
      name: 'nembeds',
      type: 'positive-int',
      help: "embedding dimension of sparse deep features (default: the model's)",
    },
    { name: 'learning-rate', type: 'number', help: "Adam learning rate (default: the model's)" },
    {
      name: 'train-examples',
      type: 'positive-int',
      help: "examples to train on, cycling through the data (default: the model's)",
    },
    {
      name: 'objective',
      type: 'string',
      help: 'the metric the best weights are kept by and patience counts on (default: rmse for a numeric label, logloss for a categorical one)',
    },
    {
      name: 'ensemble',
      type: 'positive-int',
      help: "networks trained from different seeds and averaged (default: the model's; trials of a study: 1)",
    },
    {
      name: 'class-weights',
      type: 'string',
      help: "balanced: weigh a classifier's classes by their rarity; none: every row alike (default: the model's)",
    },
    {
      name: 'label-smoothing',
      type: 'number',
      help: "a classifier's targets pulled this far towards uniform, 0 to 1; 0: none (default: the model's, 0.05 for an inferred classifier)",
    },
    {
      name: 'seed',
      type: 'positive-int',
      default: 42,
      help: 'seed for shuffling and initialisation',
    },
    {
      name: 'max-bad-rows',
      type: 'number',
      default: 0.05,
      help: 'fail when more than this fraction of rows is invalid',
    },
    {
      name: 'patience',
      type: 'positive-int',
      help: "stop after this many evaluations without improvement (default: the model's; inferred specs: 5)",
    },
    {
      name: 'evaluations',
      type: 'positive-int',
      help: 'eval measurements during training, the hypertune intermediate values (default: 20 with patience, else 10)',
    },
  ],
  async run(flags) {
    if (flags.model && flags.label)
      throw new UsageError('--label infers a spec: give either --model or --label, not both');
    if (!flags.model && !flags.label)
      throw new UsageError(
        '--model or --label is required (a built-in model, a spec file, or the column to predict)',
      );
    const outputUri = flags['output-dir'] ?? process.env.AIP_MODEL_DIR;
    if (!outputUri) throw new UsageError('--output-dir is required when AIP_MODEL_DIR is not set');
    let outputDir: string;
    try {
      outputDir = localPathOf(outputUri, '--output-dir');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const maxBad = flags['max-bad-rows'];
    if (!(maxBad >= 0 && maxBad <= 1))
      throw new UsageError(`--max-bad-rows must be a fraction between 0 and 1 (got ${maxBad})`);

    const trainData = await expandDataFiles(flags['train-data'], '--train-data');
    const evalData = await expandDataFiles(flags['eval-data'], '--eval-data');
    const say = (line: string) => process.stderr.write(line + '\n');
    let spec: ModelSpec;
    if (flags.model) spec = await resolveSpec(flags.model);
    else {
      spec = await inferSpec(trainData, {
        name: modelNameFrom(outputDir),
        label: flags.label!,
        ...(flags.key ? { key: flags.key } : {}),
      });
      const roles = (role: string) =>
        spec.inferred!.columns.filter((c) => c.role === role).map((c) => c.name);
      say(
        `inferred from ${spec.inferred!.rows} rows: numeric ${roles('numeric').join(', ') || '-'}; categorical ${roles('categorical').join(', ') || '-'}; dates ${roles('date').join(', ') || '-'}; left out ${roles('dropped').join(', ') || '-'}`,
      );
      for (const note of spec.inferred!.notes) say(`  ${note}`);
    }
    const hyperparameters = hyperparametersFrom(spec, flags);
    const tensorflow = await loadTrainingEngine();
    say(
      `bucketml train: model ${spec.name}, backend ${tensorflow.backend}${tensorflow.notes.length ? ` (${tensorflow.notes.join('; ')})` : ''}`,
    );
    say(`hyperparameters: ${JSON.stringify(hyperparameters)}, seed ${flags.seed}`);

    const hypertune = HypertuneReporter.fromEnv();
    const events = TrainingEvents.start({
      dir: () => tensorboardLogDir(outputDir),
      hparams: hparamsOf(hyperparameters, { seed: flags.seed }),
      modelUri: outputUri,
      warn: say,
    });
    // A training that throws still ends its TensorBoard session, as a failure.
    const orFail = <T>(work: Promise<T>) =>
      work.catch((err: unknown) => {
        events.end('failure');
        throw err;
      });
    const result = await orFail(
      trainModel({
        spec,
        train: trainData,
        eval: evalData,
        hyperparameters,
        seed: flags.seed,
        maxBadFraction: maxBad,
        ...(flags.objective ? { objective: flags.objective } : {}),
        evaluations: flags.evaluations ?? (hyperparameters.patience ? 20 : 10),
        tensorflow,
        onProgress: progressPrinter(),
        onEvaluation: (e) => {
          hypertune?.reportAll(e.metrics, e.step);
          events.evaluation(e);
        },
      }),
    );
    const { meta } = result.model;
    for (const [which, d] of [
      ['train', meta.data.train],
      ['eval', meta.data.eval],
    ] as const) {
      if (d.unlabelledRows)
        say(`skipped ${d.unlabelledRows} ${which} row(s) without a label of ${d.rowsRead}`);
      if (d.badRows === 0) continue;
      say(`skipped ${d.badRows} invalid ${which} row(s) of ${d.rowsRead}:`);
      for (const b of d.badRowSamples.slice(0, 5)) say(`  ${b.file}:${b.line}: ${b.reason}`);
    }
    const values = meta.metrics.values!;
    const objective = meta.metrics.objective!;
    // An ensemble's measure is its mean output's: the last values the tuning service reads.
    if (meta.metrics.memberValues) {
      hypertune?.reportAll(values, meta.training.steps);
      events.scalars(meta.training.examples, values);
    }
    const dir = resolve(outputDir);
    await orFail(writeModelDir(dir, serializeModel(result.model)));
    events.end('success');
    const t = meta.training;
    say(
      `trained on ${t.examples.toLocaleString('en-US')} examples in ${t.seconds.toFixed(1)} s (${t.examplesPerSecond.toLocaleString('en-US')} ex/s, ${t.backend} backend)`,
    );
    say(`model written to ${dir}`);
    if (events.path && !events.failed) say(`TensorBoard events written to ${events.path}`);
    if (t.stopReason === 'converged')
      say(
        `stopped at ${t.examples.toLocaleString('en-US')} examples: eval ${objective} had not improved for ${hyperparameters.patience} evaluations (the best weights are kept)`,
      );
    if (result.stillImproving)
      say(
        `warning: eval ${objective} was still improving when the budget ran out: more --train-examples would probably give a better model`,
      );
    if (meta.metrics.memberValues)
      say(
        `ensemble of ${meta.metrics.memberValues.length} networks: their own eval ${objective} ${meta.metrics.memberValues.map((r) => r.toFixed(4)).join(', ')}`,
      );
    if (meta.metrics.confusion)
      say(
        `confusion matrix (rows: true class, columns: predicted; classes ${spec.label.classes!.join(', ')}): ${JSON.stringify(meta.metrics.confusion)}`,
      );
    process.stdout.write(
      `eval ${Object.entries(values)
        .map(([tag, v]) => `${tag}: ${v.toFixed(4)}`)
        .join(', ')} (${meta.metrics.evalRows} rows)\n`,
    );
    return 0;
  },
});

function hyperparametersFrom(spec: ModelSpec, flags: Record<string, unknown>): Hyperparameters {
  const overrides: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(HYPERPARAMETER_FLAGS))
    if (flags[flag] !== undefined) overrides[key] = flags[flag];
  const problems: string[] = [];
  const hp = parseHyperparameters(overrides, (m) => problems.push(m), spec.hyperparameters);
  if (problems.length) throw new SpecError(problems);
  return hp;
}

/** An inferred model's name: its output folder's (a Vertex AIP_MODEL_DIR ends in model/: its parent's). */
function modelNameFrom(outputDir: string): string {
  const parts = resolve(outputDir).split(/[\\/]/).filter(Boolean);
  const last = parts.at(-1) === 'model' ? parts.at(-2) : parts.at(-1);
  return (last ?? 'model').replace(/[^A-Za-z0-9_-]/g, '_').replace(/^[^A-Za-z0-9]+/, '') || 'model';
}
