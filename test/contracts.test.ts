import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  BACKEND_FLAGS,
  dataVersion,
  FUNCTIONS,
  isEvalFile,
  jobIdOf,
  layout,
  parseBatchInputName,
  parseDropName,
  parseJobId,
  parseRunId,
  pushSubscriptions,
  reservedFlagsIn,
  trialArgs,
  runIdOf,
  SETTINGS,
  TRAIN_COMMAND,
  trainerArgv,
} from '@bucketml/contracts';
import { VERBS } from '@bucketml/cli';
import { ROOT } from './helpers.ts';

describe('contracts', () => {
  it('run and job ids: one template, one parser, round trip', () => {
    const runId = runIdOf(
      'baby_weight-2',
      dataVersion([{ name: 'data/x/a.csv', generation: '1' }]),
    );
    assert.deepEqual(parseRunId(runId), { model: 'baby_weight-2', version: runId.slice(-12) });
    assert.deepEqual(parseJobId(jobIdOf(runId, 'study')), {
      runId,
      model: 'baby_weight-2',
      kind: 'study',
    });
    assert.equal(parseJobId(`${runId}-other`), null);
    assert.equal(parseRunId('no-version'), null);
  });

  it('eval/train is decided on the file name only', () => {
    assert.equal(isEvalFile('data/medieval/train.csv'), false);
    assert.equal(isEvalFile('data/medieval/taxi-valid.csv'), true);
    assert.deepEqual(parseDropName('data/m/a.csv'), { model: 'm', file: 'a.csv' });
    assert.equal(parseDropName('data/m/sub/a.csv'), null);
  });

  it('batch inputs: predict/<model>/<name>.csv or JSON lines; their outputs never parse as inputs', () => {
    assert.deepEqual(parseBatchInputName('predict/babyweight/jan.csv'), {
      model: 'babyweight',
      file: 'jan.csv',
      format: 'csv',
    });
    assert.deepEqual(parseBatchInputName('predict/m/b.v2.JSONL'), {
      model: 'm',
      file: 'b.v2.JSONL',
      format: 'jsonl',
    });
    assert.equal(parseBatchInputName('predict/m/sub/a.csv'), null);
    assert.equal(parseBatchInputName('predict/m/a.txt'), null);
    assert.equal(parseBatchInputName('predict/../a.csv'), null);
    assert.equal(layout.batchPredictions('m', 'jan.csv'), 'predictions/m/jan.csv.jsonl');
    assert.equal(layout.batchSummary('m', 'jan.csv'), 'predictions/m/jan.csv.summary.json');
    assert.notEqual(
      layout.batchPredictions('m', 'jan.csv'),
      layout.batchPredictions('m', 'jan.jsonl'),
    );
    for (const written of [
      layout.batchPredictions('m', 'jan.csv'),
      layout.batchSummary('m', 'jan.csv'),
    ]) {
      assert.equal(parseBatchInputName(written), null);
      assert.equal(written.startsWith(layout.batchInputRoot), false);
    }
  });

  it('the trainer argv: backend flags last, and study args may not set them', () => {
    const argv = trainerArgv(
      {
        model: 'm',
        specObject: 'runs/r/spec.json',
        trainData: ['a'],
        evalData: ['b'],
        seed: 3,
        args: ['--train_examples=5'],
        parameters: { batch_size: 8 },
      },
      (n) => `/b/${n}`,
    );
    assert.deepEqual(argv, [
      'train',
      '--train_examples=5',
      '--batch_size=8',
      '--model',
      '/b/runs/r/spec.json',
      '--seed',
      '3',
      '--train-data',
      '/b/a',
      '--eval-data',
      '/b/b',
    ]);
    assert.deepEqual(reservedFlagsIn(['--output_dir=/x', '--Train-Data', '--nnsize=3', '--seed']), [
      'output-dir',
      'seed',
    ]);
    assert.throws(
      () =>
        trainerArgv(
          { model: 'm', trainData: [], evalData: [], seed: 1, args: ['--model=x'] },
          (n) => n,
        ),
      /may not set --model/,
    );
  });

  it("trials train one network and judge by the study's metric unless the study's args say otherwise", () => {
    assert.deepEqual(trialArgs([], 'rmse'), ['--ensemble=1', '--objective=rmse']);
    assert.deepEqual(trialArgs(['--train_examples=500'], 'logloss'), [
      '--ensemble=1',
      '--objective=logloss',
      '--train_examples=500',
    ]);
    assert.deepEqual(trialArgs(['--ensemble=2', '--objective=auc'], 'logloss'), [
      '--ensemble=2',
      '--objective=auc',
    ]);
    assert.deepEqual(trialArgs(['--ensemble', '3'], 'rmse'), [
      '--objective=rmse',
      '--ensemble',
      '3',
    ]);
    const train = VERBS.find((v) => v.name === 'train')!;
    for (const flag of ['ensemble', 'objective'])
      assert.ok(
        train.flags.some((f) => f.name === flag),
        `train lacks --${flag}`,
      );
  });

  it("bucketml train parses every flag the backends set, under the contract's names", () => {
    const train = VERBS.find((v) => v.name === TRAIN_COMMAND)!;
    const names = train.flags.map((f) => f.name);
    for (const flag of BACKEND_FLAGS) assert.ok(names.includes(flag), `train lacks --${flag}`);
  });

  it('the function registry names every function folder, and each push subscription once', async () => {
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(
      FUNCTIONS.map((f) => f.name).sort(),
      (await readdir(join(ROOT, 'functions'))).sort(),
    );
    const subs = pushSubscriptions({ includeCloudOnly: true });
    assert.equal(new Set(subs.map((s) => s.subscription)).size, subs.length);
    assert.ok(
      pushSubscriptions({ includeCloudOnly: false }).every((s) => s.fn !== 'vertex-events'),
    );
  });

  it('the README lists every BUCKETML_* setting with its default', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    for (const [name, def] of Object.entries(SETTINGS)) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${name}\``));
      assert.ok(row, `README lacks ${name}`);
      if ('default' in def)
        assert.ok(row.includes(`\`${def.default}\``), `README's default for ${name}`);
    }
  });
});
