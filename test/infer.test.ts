import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  fileSource,
  inferSpec,
  parseDate,
  parseSpec,
  Predictor,
  SpecError,
  type Hyperparameters,
} from '@bucketml/model';
import { trainModel } from '@bucketml/trainer';
import { DATA, tempDir } from './helpers.ts';

/**
 * Schema inference on real tables (data/tables/README.md says where each comes from): dplyr's
 * storms (dates, a categorical status and storm name, numerics with empty cells) and vega's
 * earthquakes (timestamps with a time, mostly-empty columns).
 */

/** One storm observation, as a caller would send it (hurricane Earl, 2010). */
const EARL = {
  time: '2010-09-01 12:00:00',
  name: 'Earl',
  lat: 25,
  long: -70,
  status: 'hurricane',
  category: 3,
  wind: 100,
  tropicalstorm_force_diameter: 300,
  hurricane_force_diameter: 100,
};

/** The newest rows of storms: the force diameters exist from 2004 on (empty cells before). */
async function stormsSample(rows = 1500) {
  const dir = await tempDir();
  const tail = async (name: string, n: number) => {
    const lines = (await readFile(join(DATA, 'tables/storms', name), 'utf8')).trimEnd().split('\n');
    const path = join(dir, name);
    await writeFile(path, [lines[0], ...lines.slice(-n)].join('\n') + '\n');
    return path;
  };
  return { train: await tail('train.csv', rows), eval: await tail('eval.csv', 400), dir };
}

describe('schema inference', () => {
  it('a header CSV and a label name give a full spec: dates expanded, categories with an OOV bucket, missing numerics imputed with an indicator', async () => {
    const spec = await inferSpec([fileSource(join(DATA, 'tables/storms/train.csv'))], {
      name: 'storms',
      label: 'pressure',
    });
    assert.equal(spec.header, true);
    assert.deepEqual(spec.columns, []);
    assert.equal(spec.label.name, 'pressure');
    assert.equal(spec.label.standardize, true);
    const date = spec.dates.find((d) => d.name === 'time');
    assert.ok(date, 'time is a date');
    assert.ok(
      date.parts.includes('hour') && date.parts.includes('dayofyear'),
      `parts ${date.parts}`,
    );
    const status = spec.categorical.find((c) => c.name === 'status');
    assert.ok(status?.oov, 'status is categorical with an OOV bucket');
    assert.ok(status.vocabulary.includes('hurricane'));
    const diameter = spec.numeric.find((c) => c.name === 'tropicalstorm_force_diameter');
    assert.ok(diameter?.impute !== undefined, 'a numeric column with empty cells is imputed');
    assert.ok(spec.deep.includes('tropicalstorm_force_diameter_is_missing'));
    const stats = spec.inferred!.columns.find((c) => c.name === 'tropicalstorm_force_diameter')!;
    assert.ok(stats.missingRate > 0.3 && stats.quantiles?.length === 11, JSON.stringify(stats));
    // The inferred spec is a valid spec document in today's format, round-tripped.
    assert.deepEqual(parseSpec(JSON.parse(JSON.stringify(spec))), spec);
  });

  it('identifier-like and constant columns are not features', async () => {
    const dir = await tempDir();
    const path = join(dir, 'train.csv');
    const rows = [
      'id,const,x,y',
      ...Array.from({ length: 200 }, (_, i) => `r${i},same,${i % 7},${(i % 7) * 2 + (i % 3)}`),
    ];
    await writeFile(path, rows.join('\n') + '\n');
    const spec = await inferSpec([fileSource(path)], { name: 't', label: 'y' });
    assert.equal(spec.key, 'id');
    assert.deepEqual(
      spec.numeric.map((c) => c.name),
      ['x'],
    );
    assert.match(spec.inferred!.notes.join('\n'), /const: left out \(constant\)/);
  });

  it('a categorical label is a classifier; a label not in the header is refused naming the columns', async () => {
    const { train } = await stormsSample(300);
    const spec = await inferSpec([fileSource(train)], { name: 'storms', label: 'status' });
    assert.equal(spec.label.type, 'categorical');
    assert.deepEqual(
      spec.label.classes,
      [...new Set(spec.label.classes)].sort(),
      'classes in a stable (sorted) order',
    );
    await assert.rejects(
      inferSpec([fileSource(train)], { name: 'storms', label: 'nope' }),
      /label column "nope" is not in the header \(columns: time, name, lat/,
    );
  });

  it('a model trained on the inferred spec sends unseen categories to the OOV bucket, imputes missing numbers, and refuses wrong types', async () => {
    const { eval: evalFile } = await stormsSample();
    const train = join(DATA, 'tables/storms/train.csv');
    const spec = await inferSpec([fileSource(train)], { name: 'storms', label: 'pressure' });
    const result = await trainModel({
      spec,
      train: [fileSource(train)],
      eval: [fileSource(evalFile)],
      hyperparameters: { ...spec.hyperparameters, trainExamples: 4000 },
      seed: 1,
    });
    assert.ok(result.model.meta.preprocessing.label, 'the label transform is saved with the model');
    assert.ok(result.model.meta.spec.inferred, 'the statistics are saved inside the model');
    const predictor = new Predictor(result.model);
    const base = EARL;
    const known = predictor.predictInstance(base);
    assert.equal(known.error, undefined);
    assert.ok(
      (known.value as number) > 850 && (known.value as number) < 1050,
      `a pressure in hPa: ${known.value}`,
    );
    const unseen = predictor.predictInstance({
      ...base,
      name: 'NeverSeenBefore',
      status: 'extratropical',
    });
    assert.equal(unseen.error, undefined, 'an unseen category is not refused');
    const otherUnseen = predictor.predictInstance({
      ...base,
      name: 'NeverSeenBefore',
      status: 'NeverSeenEither',
    });
    assert.equal(otherUnseen.value, unseen.value, 'every unseen category shares the OOV bucket');
    assert.notEqual(
      predictor.predictInstance({ ...base, name: 'NeverSeenBefore' }).value,
      unseen.value,
      'which is not a known category',
    );
    const imputed = spec.numeric.find((c) => c.impute !== undefined);
    assert.ok(imputed, `a numeric column had empty cells: ${spec.inferred!.notes.join('; ')}`);
    assert.equal(
      predictor.predictInstance({ ...base, [imputed.name]: null }).error,
      undefined,
      'a missing numeric is imputed',
    );
    assert.equal(predictor.predictInstance({ ...base, [imputed.name]: '' }).error, undefined);
    const complete = spec.numeric.find((c) => c.impute === undefined)!;
    assert.match(
      String(predictor.predictInstance({ ...base, [complete.name]: null }).error),
      new RegExp(`${complete.name}: missing`),
      'a column that was never missing stays required',
    );
    assert.match(
      String(predictor.predictInstance({ ...base, wind: 'strong' }).error),
      /wind: "strong" is not a number/,
    );
    assert.match(
      String(predictor.predictInstance({ ...base, status: { a: 1 } }).error),
      /status: expected a string, got object/,
    );
    assert.match(
      String(predictor.predictInstance({ ...base, time: 'yesterday' }).error),
      /time: "yesterday" is not a date/,
    );
    // Without a key column, the caller's key comes back; with one, under the column's name.
    assert.deepEqual(predictor.predictInstance({ ...base, key: 'k-1' }).key, { key: 'k-1' });
  });

  it('training keeps the best evaluation (never the last step of a diverging run) and patience stops a converged one', async () => {
    const { train, eval: evalFile } = await stormsSample(800);
    const spec = await inferSpec([fileSource(train)], { name: 'storms', label: 'pressure' });
    const fast = (budget: Partial<Hyperparameters>, evaluations: number) =>
      trainModel({
        spec,
        train: [fileSource(train)],
        eval: [fileSource(evalFile)],
        // One network: the evaluations describe it (an ensemble's metrics are its mean's).
        hyperparameters: { ...spec.hyperparameters, learningRate: 0.3, ensemble: 1, ...budget },
        seed: 3,
        evaluations,
      });
    const diverging = await fast({ trainExamples: 8000, patience: undefined }, 8);
    const measured = diverging.evaluations.map((e) => e.value);
    // The best weights seen (reported evaluations and the checks between them) are kept.
    assert.ok(
      diverging.model.meta.metrics.rmse! <= Math.min(...measured),
      `kept the best of ${measured}`,
    );
    assert.ok(
      diverging.model.meta.metrics.rmse! < measured.at(-1)! ||
        measured.at(-1) === Math.min(...measured),
    );
    const predictor = new Predictor(diverging.model);
    assert.ok(Number.isFinite(predictor.predictInstance(EARL).value));
    const patient = await fast({ trainExamples: 40_000, patience: 2 }, 20);
    if (patient.stopReason === 'converged') {
      assert.ok(patient.evaluations.length < 20);
      const n = patient.evaluations.length;
      const best = Math.min(...patient.evaluations.map((e) => e.value));
      assert.ok(
        patient.evaluations.slice(n - 2).every((e) => e.value >= best),
        'stopped after 2 evaluations without improvement',
      );
      assert.equal(patient.model.meta.training.stopReason, 'converged');
    } else assert.equal(patient.evaluations.length, 20);
  });

  it('parses ISO dates and timestamps, and refuses impossible ones', () => {
    assert.deepEqual(parseDate('2018-02-07 01:26:13'), {
      year: 2018,
      month: 2,
      day: 7,
      dayofweek: 2,
      dayofyear: 38,
      hour: 1,
      hasTime: true,
    });
    assert.equal(parseDate('2020-12-31')?.dayofyear, 366);
    assert.equal(parseDate('2013-02-30'), null);
    assert.equal(parseDate('31/01/2013'), null);
  });

  it('names an unknown spec field as such, with a suggestion', () => {
    const spec = JSON.parse(JSON.stringify(STORMS_SPEC));
    spec.catagorical = [];
    assert.throws(
      () => parseSpec(spec),
      (err: Error) => {
        assert.match(err.message, /unknown field catagorical — did you mean categorical\?/);
        assert.equal((err as SpecError).problems.length, 1, (err as SpecError).problems.join('\n'));
        return true;
      },
    );
    assert.throws(
      () => parseSpec({ ...STORMS_SPEC, hyperparameters: { batch_size: 8 } }),
      /unknown field hyperparameters\.batch_size — did you mean batchSize\?/,
    );
  });
});

const STORMS_SPEC = {
  name: 'storms',
  header: true,
  label: { name: 'pressure' },
  numeric: [{ name: 'wind' }],
  categorical: [{ name: 'status', vocabulary: ['hurricane'], oov: true }],
  deep: ['wind', 'status'],
  wide: ['status'],
};
