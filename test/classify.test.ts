import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, before } from 'node:test';
import {
  classificationMetrics,
  fileSource,
  inferSpec,
  normalizeDense,
  parseSpec,
  Predictor,
  readDataset,
  readModelDir,
  rocAuc,
  SpecError,
  type ModelSpec,
} from '@bucketml/model';
import { trainModel, TrainingOptionsError, type TrainResult } from '@bucketml/trainer';
import { DATA, jsonLines, runCli, tempDir } from './helpers.ts';

/**
 * Classification on real tables (data/tables/README.md): vega's birdstrikes (label `phase`, 7
 * classes, categorical features, a date) and carData's MplsStops (label `problem`, binary,
 * empty cells). Each test reads a slice of the shipped files.
 */
async function slice(table: string, trainRows: number, evalRows: number) {
  const dir = await tempDir();
  const cut = async (name: string, n: number) => {
    const lines = (await readFile(join(DATA, 'tables', table, name), 'utf8')).trimEnd().split('\n');
    const path = join(dir, name);
    await writeFile(path, lines.slice(0, n + 1).join('\n') + '\n');
    return path;
  };
  return { train: await cut('train.csv', trainRows), eval: await cut('eval.csv', evalRows), dir };
}

const BUDGET = { trainExamples: 12_000, ensemble: 1, patience: undefined };

describe('classification', () => {
  let birds: { train: string; eval: string; dir: string };
  let stops: { train: string; eval: string; dir: string };
  let birdSpec: ModelSpec;
  let birdModel: TrainResult;

  before(async () => {
    birds = await slice('birdstrikes', 2000, 500);
    stops = await slice('mpls_stops', 2000, 500);
    birdSpec = await inferSpec([fileSource(birds.train)], { name: 'birds', label: 'phase' });
    birdModel = await trainModel({
      spec: birdSpec,
      train: [fileSource(birds.train)],
      eval: [fileSource(birds.eval)],
      hyperparameters: { ...birdSpec.hyperparameters, ...BUDGET },
      seed: 3,
    });
  });

  it('a label of categories is a classifier: classes in a stable order, counted, with a warning for a single-row class', async () => {
    const { label } = birdSpec;
    assert.equal(label.type, 'categorical');
    assert.deepEqual(label.classes, [...label.classes!].sort());
    assert.ok(label.classes!.includes('Climb') && label.classes!.includes('Landing Roll'));
    assert.ok(birdSpec.inferred!.notes.some((n) => /phase: categories, so a \d+-class/.test(n)));
    // The same spec document round-trips, and a class list is checked.
    assert.deepEqual(parseSpec(JSON.parse(JSON.stringify(birdSpec))).label, label);
    assert.throws(
      () =>
        parseSpec({ ...birdSpec, label: { name: 'phase', type: 'categorical', classes: ['a'] } }),
      /label.classes must list at least two class names/,
    );
    // One row of a class of its own: inferred, with a warning.
    const lines = (await readFile(birds.train, 'utf8')).trimEnd().split('\n');
    const odd = join(birds.dir, 'odd.csv');
    await writeFile(odd, [...lines, lines[1].replace(/,[^,]*$/, ',Hover')].join('\n') + '\n');
    const spec = await inferSpec([fileSource(odd)], { name: 'birds', label: 'phase' });
    assert.ok(spec.label.classes!.includes('Hover'));
    assert.ok(
      spec.inferred!.notes.some((n) =>
        /warning: phase: class "Hover" has a single training row/.test(n),
      ),
    );
  });

  it('a multiclass model reports log loss, accuracy, macro-F1 and the confusion matrix; answers are classes with scores summing to 1', async () => {
    const { metrics } = birdModel.model.meta;
    const classes = birdSpec.label.classes!;
    assert.equal(metrics.objective, 'logloss');
    assert.deepEqual(Object.keys(metrics.values!).sort(), ['accuracy', 'f1_macro', 'logloss']);
    assert.equal(metrics.confusion!.length, classes.length);
    assert.equal(
      metrics.confusion!.flat().reduce((a, b) => a + b),
      metrics.evalRows,
    );
    // Better than predicting the training class frequencies for every row.
    const counts = classes.map(() => 1);
    const labels = (await readFile(birds.train, 'utf8')).trimEnd().split('\n').slice(1);
    for (const line of labels) counts[classes.indexOf(line.split(',').at(-1)!)]++;
    const total = counts.reduce((a, b) => a + b);
    const evalLines = (await readFile(birds.eval, 'utf8')).trimEnd().split('\n').slice(1);
    const y = evalLines.map((l) => classes.indexOf(l.split(',').at(-1)!));
    const prior = classificationMetrics(
      y.flatMap(() => counts.map((c) => c / total)),
      y,
      classes.length,
    );
    assert.ok(
      metrics.values!.logloss < prior.values.logloss,
      `logloss ${metrics.values!.logloss} vs the prior's ${prior.values.logloss}`,
    );

    const predictor = new Predictor(birdModel.model);
    const instance = Object.fromEntries(
      (await readFile(birds.eval, 'utf8'))
        .split('\n')[0]
        .split(',')
        .map((name, i) => [name, evalLines[0].split(',')[i]]),
    );
    const p = predictor.predictInstance({ ...instance, key: 'b1', airport: 'A NEW AIRPORT' });
    assert.equal(p.error, undefined);
    assert.ok(classes.includes(p.value as string));
    assert.equal(p.scores!.length, classes.length);
    assert.ok(Math.abs(p.scores!.reduce((a, b) => a + b) - 1) < 1e-9);
    assert.equal(p.value, classes[p.scores!.indexOf(Math.max(...p.scores!))]);
    assert.deepEqual(Object.keys(predictor.answer(p)), ['key', 'phase', 'classes', 'scores']);
    // The lean predictor measures what training measured.
    const data = await readDataset([fileSource(birds.eval)], predictor.encoder);
    normalizeDense(birdModel.model.meta.preprocessing, data.dense);
    const served = predictor.evaluate(data).values;
    for (const tag of ['logloss', 'accuracy', 'f1_macro'])
      assert.ok(Math.abs(served[tag] - metrics.values![tag]) < 1e-4, `${tag} ${served[tag]}`);
  });

  it('a binary model reports ROC AUC, keeps its best weights by the objective asked for, and refuses one it does not report', async () => {
    const spec = await inferSpec([fileSource(stops.train)], { name: 'stops', label: 'problem' });
    assert.deepEqual(spec.label.classes, ['suspicious', 'traffic']);
    const run = (objective?: string) =>
      trainModel({
        spec,
        train: [fileSource(stops.train)],
        eval: [fileSource(stops.eval)],
        hyperparameters: { ...spec.hyperparameters, ...BUDGET },
        seed: 5,
        evaluations: 6,
        ...(objective ? { objective } : {}),
      });
    const byAuc = await run('auc');
    const { metrics } = byAuc.model.meta;
    assert.equal(metrics.objective, 'auc');
    assert.ok(metrics.values!.auc > 0.7, `auc ${metrics.values!.auc}`);
    // The kept weights are the best measured by auc (MAXIMIZE), as reported to the caller.
    assert.ok(byAuc.evaluations.every((e) => e.value <= metrics.values!.auc + 1e-12));
    assert.ok(byAuc.evaluations.every((e) => Object.hasOwn(e.metrics, 'logloss')));
    await assert.rejects(run('rmse'), (err: Error) => {
      assert.ok(err instanceof TrainingOptionsError);
      assert.match(
        err.message,
        /--objective rmse: a binary classification model reports logloss, accuracy, auc/,
      );
      return true;
    });
    await assert.rejects(run('f1_macro'), /reports logloss, accuracy, auc/);
  });

  it('metrics match their textbook definitions', () => {
    assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75); // scikit-learn's example
    assert.equal(rocAuc([0.5, 0.5], [0, 1]), 0.5);
    const m = classificationMetrics([0.9, 0.1, 0.2, 0.8, 0.6, 0.4], [0, 1, 1], 2);
    assert.ok(
      Math.abs(m.values.logloss - -(Math.log(0.9) + Math.log(0.8) + Math.log(0.4)) / 3) < 1e-12,
    );
    assert.equal(m.values.accuracy, 2 / 3);
    assert.deepEqual(m.confusion, [
      [1, 0],
      [1, 1],
    ]);
  });

  it('balanced class weights make the rare classes count: the rarest class is predicted more often; a numeric label refuses them', async () => {
    const balanced = await trainModel({
      spec: birdSpec,
      train: [fileSource(birds.train)],
      eval: [fileSource(birds.eval)],
      hyperparameters: { ...birdSpec.hyperparameters, ...BUDGET, classWeights: 'balanced' },
      seed: 3,
    });
    const classes = birdSpec.label.classes!;
    const predicted = (r: TrainResult) =>
      r.model.meta.metrics.confusion!.map((_, c) =>
        r.model.meta.metrics.confusion!.reduce((n, row) => n + row[c], 0),
      );
    const truth = birdModel.model.meta.metrics.confusion!.map((row) => row.reduce((a, b) => a + b));
    // The rarest class present in the eval rows.
    const rare = truth.reduce(
      (r, n, c) => (n > 0 && n < truth[r] ? c : r),
      truth.indexOf(Math.max(...truth)),
    );
    assert.ok(
      predicted(balanced)[rare] > predicted(birdModel)[rare],
      `${classes[rare]}: predicted ${predicted(balanced)[rare]} times with balanced weights, ${predicted(birdModel)[rare]} without`,
    );
    assert.equal(balanced.model.meta.hyperparameters.classWeights, 'balanced');
    assert.throws(
      () => parseSpec({ ...birdSpec, hyperparameters: { classWeights: 'equal' } }),
      /hyperparameters.classWeights must be "balanced" or "none"/,
    );
    const quakes = await inferSpec([fileSource(join(DATA, 'tables/earthquakes/train.csv'))], {
      name: 'quakes',
      label: 'mag',
    });
    await assert.rejects(
      trainModel({
        spec: quakes,
        train: [fileSource(join(DATA, 'tables/earthquakes/train.csv'))],
        eval: [fileSource(join(DATA, 'tables/earthquakes/eval.csv'))],
        hyperparameters: { ...quakes.hyperparameters, ...BUDGET, classWeights: 'balanced' },
        seed: 1,
      }),
      (err: Error) =>
        err instanceof TrainingOptionsError && /need a categorical label/.test(err.message),
    );
  });

  it('label smoothing: an inferred classifier smooths by 0.05, a regressor not; it makes the answers less confident; 0 turns it off; a numeric label refuses it', async () => {
    assert.equal(birdSpec.hyperparameters.labelSmoothing, 0.05);
    const train = (labelSmoothing: number) =>
      trainModel({
        spec: birdSpec,
        train: [fileSource(birds.train)],
        eval: [fileSource(birds.eval)],
        hyperparameters: { ...birdSpec.hyperparameters, ...BUDGET, labelSmoothing },
        seed: 3,
      });
    // The mean probability of each eval row's most likely class.
    const confidence = async (r: TrainResult) => {
      const predictor = new Predictor(r.model);
      const data = await readDataset([fileSource(birds.eval)], predictor.encoder);
      normalizeDense(r.model.meta.preprocessing, data.dense);
      const p = predictor.predictEncoded(data, data.size);
      const k = birdSpec.label.classes!.length;
      let sum = 0;
      for (let i = 0; i < data.size; i++) sum += Math.max(...p.subarray(i * k, (i + 1) * k));
      return sum / data.size;
    };
    const [none, smoothed] = [await train(0), await train(0.3)];
    assert.equal(none.model.meta.hyperparameters.labelSmoothing, 0);
    assert.equal(smoothed.model.meta.hyperparameters.labelSmoothing, 0.3);
    const [sharp, soft] = [await confidence(none), await confidence(smoothed)];
    assert.ok(soft < sharp - 0.02, `mean top probability ${soft} smoothed, ${sharp} not`);
    assert.throws(
      () => parseSpec({ ...birdSpec, hyperparameters: { labelSmoothing: 1 } }),
      /hyperparameters.labelSmoothing must be a number from 0 up to \(not including\) 1/,
    );
    const quakes = await inferSpec([fileSource(join(DATA, 'tables/earthquakes/train.csv'))], {
      name: 'quakes',
      label: 'mag',
    });
    assert.equal(quakes.hyperparameters.labelSmoothing, undefined);
    await assert.rejects(
      trainModel({
        spec: quakes,
        train: [fileSource(join(DATA, 'tables/earthquakes/train.csv'))],
        eval: [fileSource(join(DATA, 'tables/earthquakes/eval.csv'))],
        hyperparameters: { ...quakes.hyperparameters, ...BUDGET, labelSmoothing: 0.05 },
        seed: 1,
      }),
      (err: Error) =>
        err instanceof TrainingOptionsError &&
        /label smoothing needs a categorical label/.test(err.message),
    );
  });

  it('a label of one class or of too many is refused in one line', async () => {
    const lines = (await readFile(birds.train, 'utf8')).trimEnd().split('\n');
    const one = join(birds.dir, 'one.csv');
    await writeFile(
      one,
      [lines[0], ...lines.slice(1).map((l) => l.replace(/,[^,]*$/, ',Climb'))].join('\n'),
    );
    await assert.rejects(
      inferSpec([fileSource(one)], { name: 'birds', label: 'phase' }),
      (err: Error) =>
        err instanceof SpecError && /has a single class \("Climb"\)/.test(err.message),
    );
    await assert.rejects(
      inferSpec([fileSource(birds.train)], { name: 'birds', label: 'aircraft' }),
      /holds categories with \d+ distinct values; a classifier supports at most 100 classes/,
    );
  });

  it('bucketml train --label gives a classifier; bucketml predict answers its classes and scores', async () => {
    const out = join(birds.dir, 'birds');
    const trained = await runCli([
      'train',
      '--label',
      'phase',
      '--train-data',
      birds.train,
      '--eval-data',
      birds.eval,
      '--output-dir',
      out,
      '--train-examples',
      '6000',
      '--ensemble',
      '2',
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    assert.match(
      trained.stdout,
      /^eval logloss: [\d.]+, accuracy: [\d.]+, f1_macro: [\d.]+ \(500 rows\)$/m,
    );
    assert.match(trained.stderr, /confusion matrix \(rows: true class/);
    assert.match(trained.stderr, /ensemble of 2 networks/);
    const model = await readModelDir(out);
    assert.equal(model.meta.hyperparameters.ensemble, 2);
    const predicted = await runCli(['predict', '--model-dir', out, '--csv-instances', birds.eval]);
    assert.equal(predicted.code, 0, predicted.stderr);
    const answers = jsonLines(predicted.stdout);
    assert.equal(answers.length, 500);
    for (const a of answers.slice(0, 20)) {
      assert.deepEqual(a.classes, model.meta.spec.label.classes);
      assert.ok(Math.abs(a.scores.reduce((x: number, y: number) => x + y) - 1) < 1e-5);
      assert.ok(a.classes.includes(a.phase));
    }
  });
});
