/**
 * @module bench/batch
 * Batch prediction by drop, at growing input sizes: for each of BENCH_BATCH_ROWS (default
 * 100000,1000000) a CSV of that many babyweight rows (the shipped eval and train rows, repeated,
 * under a header; every 10,000th row broken) is put under predict/babyweight/ of a directory
 * bucket where a small trained model serves, and one job runs in a fresh process
 * (batch-worker.ts). Figures: rows/s, input MB, peak RSS. Flat memory means the peak does not
 * grow with the input. At the first size the answers are compared, line by line, with
 * `bucketml predict --csv-instances` on the same file (an error line differs only by its "row").
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { layout } from '@bucketml/contracts';
import { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { DATA, runCli, tempDir } from '../../test/helpers.ts';
import { deployVersion, trainSmallModel } from '../../test/serving-fixture.ts';
import { runWorker } from './stats.ts';

const SIZES = (process.env.BENCH_BATCH_ROWS ?? '100000,1000000').split(',').map(Number);
const HEADER = 'weight_pounds,is_male,mother_age,plurality,gestation_weeks,key';
const VERSION = 'babyweight-0000000000be';
const BROKEN_EVERY = 10_000;

interface WorkerResult {
  seconds: number;
  rows: number;
  errors: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssSamplesMb: number[];
}

/** Writes `rows` data rows under the header, streaming (the 1M-row file is not held). */
async function writeCsv(path: string, rows: number, sample: string[]): Promise<void> {
  const out = createWriteStream(path);
  out.write(HEADER + '\n');
  for (let i = 0; i < rows; i++) {
    const line =
      (i + 1) % BROKEN_EVERY === 0
        ? `7.0,True,not-an-age,Single(1),39,broken-${i + 1}`
        : sample[i % sample.length];
    if (!out.write(line + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export async function run(): Promise<object> {
  const root = await tempDir('bucketml-bench-batch-');
  const bucket = new DirectoryBucket(join(root, 'bucket'));
  await deployVersion(bucket, 'babyweight', VERSION, await trainSmallModel(1, 5000));
  const sample = [
    ...(await readFile(join(DATA, 'babyweight/eval.csv'), 'utf8')).trimEnd().split('\n'),
    ...(await readFile(join(DATA, 'babyweight/train.csv'), 'utf8')).trimEnd().split('\n'),
  ];
  await mkdir(join(bucket.root, layout.batchInputPrefix('babyweight')), { recursive: true });
  const results = [];
  for (const [index, rows] of SIZES.entries()) {
    const name = `rows-${rows}`;
    const object = `${layout.batchInputPrefix('babyweight')}${name}.csv`;
    await writeCsv(join(bucket.root, object), rows, sample);
    const inputMb = (await stat(join(bucket.root, object))).size / 2 ** 20;
    const r = await runWorker<WorkerResult>('batch-worker.ts', [bucket.root, object]);
    const result: Record<string, unknown> = {
      rows: r.rows,
      errors: r.errors,
      inputMb: Math.round(inputMb * 10) / 10,
      seconds: Math.round(r.seconds * 100) / 100,
      rowsPerSecond: Math.round(r.rows / r.seconds),
      rssBeforeMb: r.rssBeforeMb,
      rssPeakMb: r.rssPeakMb,
      rssSampledMaxMb: Math.max(...r.rssSamplesMb),
      // The sampled RSS at each tenth of the job: a plateau is flat memory, a slope a leak.
      rssByTenthMb: Array.from(
        { length: 10 },
        (_, i) => r.rssSamplesMb[Math.floor(((i + 1) * r.rssSamplesMb.length) / 10) - 1],
      ),
    };
    if (index === 0) result.equalToBucketmlPredict = await compare(bucket, name, object);
    console.error(JSON.stringify(result));
    results.push(result);
  }
  return { bench: 'batch', results };
}

/** The job's answers against `bucketml predict` on the same file: how many lines differ. */
async function compare(bucket: DirectoryBucket, name: string, object: string) {
  const cli = await runCli([
    'predict',
    '--model-dir',
    join(bucket.root, layout.modelVersionPrefix('babyweight', VERSION)),
    '--csv-instances',
    join(bucket.root, object),
  ]);
  const expected = cli.stdout.trimEnd().split('\n');
  const answers = (
    await readFile(join(bucket.root, layout.batchPredictions('babyweight', `${name}.csv`)), 'utf8')
  )
    .trimEnd()
    .split('\n');
  let differing = 0;
  for (let i = 0; i < Math.max(expected.length, answers.length); i++) {
    const a = JSON.parse(answers[i] ?? 'null');
    if (a && 'row' in a) delete a.row;
    if (JSON.stringify(a) !== (expected[i] ?? 'null')) differing++;
  }
  return { lines: answers.length, cliLines: expected.length, differing };
}
