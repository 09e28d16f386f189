import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';
import {
  BUILTIN_SPECS,
  deserializeModel,
  FeatureEncoder,
  fileSource,
  normalizeDense,
  Predictor,
  readDataset,
  readModelDir,
  rmse,
  serializeModel,
  writeModelDir,
  ModelFormatError,
  type Dataset,
} from '@bucketml/model';
import {
  loadTensorFlow,
  loadTrainingEngine,
  trainModel,
  WideDeepNetwork,
  type TrainResult,
} from '@bucketml/trainer';
import { sampleCsv, tempDir } from './helpers.ts';

const spec = BUILTIN_SPECS.babyweight;
const hyperparameters = { ...spec.hyperparameters, trainExamples: 20_000, ensemble: 1 };

describe('training', () => {
  let trainPath: string;
  let evalPath: string;
  let first: TrainResult;

  before(async () => {
    const dir = await tempDir();
    trainPath = await sampleCsv(dir, 'train.csv', 'babyweight/train.csv', 4000);
    evalPath = await sampleCsv(dir, 'eval.csv', 'babyweight/eval.csv', 1000);
    first = await train(7);
  });

  const train = (seed: number) =>
    trainModel({
      spec,
      train: [fileSource(trainPath)],
      eval: [fileSource(evalPath)],
      hyperparameters,
      seed,
      evaluations: 4,
    });

  it('learns: eval RMSE well below predicting the mean', () => {
    // The label's standard deviation on eval data is ~1.3 lb.
    assert.ok(first.model.meta.metrics.rmse! < 1.15, `rmse ${first.model.meta.metrics.rmse}`);
    assert.equal(first.evaluations.length, 4);
    assert.equal(first.model.meta.metrics.evalRows, 1000);
  });

  it('is deterministic: the same seed gives the same RMSE and weights; another seed does not', async () => {
    const again = await train(7);
    assert.equal(again.model.meta.metrics.rmse, first.model.meta.metrics.rmse);
    assert.deepEqual(
      again.model.weights.get('hidden_0/kernel'),
      first.model.weights.get('hidden_0/kernel'),
    );
    const other = await train(8);
    assert.notEqual(other.model.meta.metrics.rmse, first.model.meta.metrics.rmse);
  });

  it('records backend, hyperparameters and lineage in the model', async () => {
    const { meta } = first.model;
    const { backend } = await loadTrainingEngine();
    assert.equal(meta.training.backend, backend);
    assert.deepEqual(meta.hyperparameters, hyperparameters);
    assert.equal(meta.data.train.files[0].rows, 4000);
    assert.match(meta.data.eval.files[0].sha256, /^[0-9a-f]{64}$/);
    assert.equal(meta.preprocessing.dense.length, 2);
  });

  it('saves and loads: the loaded model predicts exactly what it predicted before saving', async () => {
    const dir = await tempDir();
    await writeModelDir(dir, serializeModel(first.model));
    const loaded = await readModelDir(dir);
    const before = new Predictor(first.model);
    const after = new Predictor(loaded);
    const instances = [
      { key: 'a', is_male: 'True', mother_age: 26, plurality: 'Single(1)', gestation_weeks: 39 },
      {
        key: 'b',
        is_male: 'Unknown',
        mother_age: 41,
        plurality: 'Multiple(2+)',
        gestation_weeks: 33,
      },
      { key: 'c', is_male: 'False', mother_age: 14, plurality: 'Twins(2)', gestation_weeks: 45.5 },
    ];
    for (const inst of instances) {
      const p = before.predictInstance(inst);
      assert.equal(p.error, undefined);
      assert.deepEqual(after.predictInstance(inst), p);
    }
  });

  it('the lean predictor matches the TensorFlow.js forward pass within 1e-5', async () => {
    const { tf } = await loadTensorFlow();
    const ds: Dataset = await readDataset([fileSource(evalPath)], new FeatureEncoder(spec));
    normalizeDense(first.model.meta.preprocessing, ds.dense);
    const network = new WideDeepNetwork(
      tf,
      new FeatureEncoder(spec).layout,
      hyperparameters,
      0,
      [0],
    );
    for (const [name, w] of first.model.weights)
      network.variables.get(name)!.assign(tf.tensor(w, network.variables.get(name)!.shape));
    const viaTf = tf.tidy(() =>
      network
        .forward({
          dense: tf.tensor2d(ds.dense, [ds.size, 2]),
          wide: tf.tensor1d(ds.wide, 'int32'),
          embed: tf.tensor1d(ds.embed, 'int32'),
          size: ds.size,
        })
        .dataSync(),
    );
    network.dispose();
    const lean = new Predictor(first.model).predictEncoded(ds, ds.size);
    let worst = 0;
    for (let i = 0; i < ds.size; i++) worst = Math.max(worst, Math.abs(lean[i] - viaTf[i]));
    assert.ok(worst < 1e-5, `max difference ${worst}`);
  });

  it('an ensemble: its members are the single networks of their seeds, and it answers their mean', async () => {
    const ensemble = await trainModel({
      spec,
      train: [fileSource(trainPath)],
      eval: [fileSource(evalPath)],
      hyperparameters: { ...hyperparameters, ensemble: 2 },
      seed: 7,
      evaluations: 4,
    });
    const { meta, weights } = ensemble.model;
    assert.equal(meta.hyperparameters.ensemble, 2);
    assert.deepEqual(
      [...weights.keys()].filter((n) => n.endsWith('hidden_0/kernel')),
      ['member_0/hidden_0/kernel', 'member_1/hidden_0/kernel'],
    );
    // Member 0 trains with the run's seed: it is the single network of seed 7.
    assert.deepEqual(
      weights.get('member_0/hidden_0/kernel'),
      first.model.weights.get('hidden_0/kernel'),
    );
    assert.notDeepEqual(
      weights.get('member_1/hidden_0/kernel'),
      weights.get('member_0/hidden_0/kernel'),
    );
    assert.equal(meta.metrics.memberValues?.[0], first.model.meta.metrics.rmse);
    // The saved ensemble, read back, scores the eval data as training measured it.
    const dir = await tempDir();
    await writeModelDir(dir, serializeModel(ensemble.model));
    const loaded = new Predictor(await readModelDir(dir));
    const ds = await readDataset([fileSource(evalPath)], loaded.encoder);
    normalizeDense(meta.preprocessing, ds.dense);
    const served = rmse(loaded.predictEncoded(ds, ds.size), ds.labels);
    assert.ok(Math.abs(served - meta.metrics.rmse!) < 1e-4, `${served} vs ${meta.metrics.rmse}`);
    // Averaging two seeds does not do worse than the worse of them.
    assert.ok(meta.metrics.rmse! <= Math.max(...meta.metrics.memberValues!) + 1e-6);
  });

  it('refuses a model whose weights file does not match model.json', async () => {
    const { modelJson, weightsBin } = serializeModel(first.model);
    const truncated = weightsBin.subarray(0, weightsBin.length - 4);
    assert.throws(() => deserializeModel(modelJson, truncated), ModelFormatError);
    const altered = Buffer.from(weightsBin);
    altered[10] ^= 1;
    assert.throws(() => deserializeModel(modelJson, altered), /does not match the checksum/);
  });
});
