import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { layout } from '@bucketml/contracts';
import {
  createLogger,
  onObjectFinalized,
  RunStore,
  type BatchPredictionSummary,
  type PipelineContext,
} from '@bucketml/pipeline';
import { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { FakeTrainingBackend, MemoryMessaging } from '@bucketml/ports/testing';
import { DATA, jsonLines, runCli, tempDir } from './helpers.ts';
import { deployVersion, trainSmallModel } from './serving-fixture.ts';

const MODEL = 'babyweight';
const VERSION = 'babyweight-0000000000c1';
const HEADER = 'weight_pounds,is_male,mother_age,plurality,gestation_weeks,key';
const ROWS = 2000;
const BROKEN = 700;

/**
 * Batch prediction on real files: a CSV of the shipped eval rows (one of them broken) copied
 * into a directory bucket under predict/babyweight/, the storage event handled by the stage the
 * trigger calls, and the answers compared with `bucketml predict` on the same file.
 */
describe('batch prediction by drop, on a directory bucket', () => {
  let root: string;
  let bucket: DirectoryBucket;
  let ctx: PipelineContext;
  let csvFile: string;
  const input = `predict/${MODEL}/eval-rows.csv`;

  before(async () => {
    root = await tempDir('bucketml-batch-');
    bucket = new DirectoryBucket(join(root, 'bucket'));
    await deployVersion(bucket, MODEL, VERSION, await trainSmallModel(3, 2000));
    const rows = (await readFile(join(DATA, 'babyweight/eval.csv'), 'utf8'))
      .trimEnd()
      .split('\n')
      .slice(0, ROWS);
    rows[BROKEN] = '7.2,True,not-an-age,Single(1),39,broken';
    csvFile = join(root, 'eval-rows.csv');
    await writeFile(csvFile, [HEADER, ...rows].join('\n') + '\n');
    const log = createLogger('test', { write: () => true } as unknown as NodeJS.WritableStream);
    ctx = {
      storage: bucket,
      messaging: new MemoryMessaging(),
      training: new FakeTrainingBackend(),
      log,
      runs: new RunStore(bucket),
      settleMs: 0,
      seed: 1,
      crashPoint: () => undefined,
    };
  });

  it('answers every row as `bucketml predict` does, an error line for the broken one; a redelivery writes nothing', async () => {
    // Dropped as `cp` drops it: a file appearing in the bucket's directory.
    await mkdir(join(bucket.root, 'predict', MODEL), { recursive: true });
    await writeFile(bucket.pathOf(input), await readFile(csvFile));
    const event = {
      bucket: 'bucket',
      name: input,
      generation: (await bucket.stat(input))!.generation,
    };
    await onObjectFinalized(ctx, event);

    const answers = jsonLines(
      (await bucket.read(layout.batchPredictions(MODEL, 'eval-rows.csv')))!.data.toString(),
    );
    const cli = await runCli([
      'predict',
      '--model-dir',
      join(bucket.root, layout.modelVersionPrefix(MODEL, VERSION)),
      '--csv-instances',
      csvFile,
    ]);
    assert.equal(cli.code, 1, 'bucketml predict exits 1 for the invalid row');
    const expected = jsonLines(cli.stdout);
    assert.equal(answers.length, ROWS);
    assert.equal(expected.length, ROWS);
    for (let i = 0; i < ROWS; i++) {
      if (i === BROKEN) continue;
      assert.deepEqual(answers[i], expected[i], `row ${i + 1}`);
    }
    assert.deepEqual(answers[BROKEN], { row: BROKEN + 1, ...expected[BROKEN] });
    assert.match(answers[BROKEN].error, /mother_age/);

    const summaryName = layout.batchSummary(MODEL, 'eval-rows.csv');
    const summary = JSON.parse(
      (await bucket.read(summaryName))!.data.toString(),
    ) as BatchPredictionSummary;
    assert.deepEqual(
      [summary.rows, summary.errors, summary.version, summary.input.generation],
      [ROWS, 1, VERSION, event.generation],
    );

    const before = await bucket.list('predictions/');
    await onObjectFinalized(ctx, event);
    assert.deepEqual(await bucket.list('predictions/'), before, 'the redelivery wrote nothing');
    assert.deepEqual(
      (await readdir(join(bucket.root, 'predictions', MODEL))).sort(),
      ['eval-rows.csv.jsonl', 'eval-rows.csv.summary.json'],
      'no staging file left behind',
    );
  });

  it('an input named near the file-name limit (250 bytes) is answered under shortened output names', async () => {
    const long = `predict/${MODEL}/${'a'.repeat(246)}.csv`;
    await writeFile(bucket.pathOf(long), [HEADER, 'x,True,26,Single(1),39,k1'].join('\n') + '\n');
    const generation = (await bucket.stat(long))!.generation;
    await onObjectFinalized(ctx, { bucket: 'bucket', name: long, generation });
    const summary = JSON.parse(
      (await bucket.read(layout.batchSummary(MODEL, long.split('/').pop()!)))!.data.toString(),
    ) as BatchPredictionSummary;
    assert.deepEqual([summary.input.name, summary.rows], [long, 1]);
    assert.equal(jsonLines((await bucket.read(summary.output!))!.data.toString()).length, 1);
  });
});
