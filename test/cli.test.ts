import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, before } from 'node:test';
import { formatDefault, VERBS, type Flag } from '@bucketml/cli';
import { DATA, jsonLines, runCli, sampleCsv, tempDir } from './helpers.ts';

const evalRmse = (stdout: string) => Number(/eval rmse: ([0-9.]+)/.exec(stdout)?.[1]);

/** The arguments of `bucketml train` for a model (built-in or spec file), its data and output. */
const trainArgs = (
  model: string,
  trainData: string,
  evalData: string,
  outputDir: string,
  ...more: string[]
) => [
  'train',
  ...['--model', model, '--train-data', trainData, '--eval-data', evalData],
  ...['--output-dir', outputDir, ...more],
];

/** Trains a built-in model on its full sample data (data/<model>/) into a fresh folder. */
async function trainOnSample(model: string, trainFile: string, evalFile: string) {
  const out = await tempDir();
  const sample = (file: string) => join(DATA, model, file);
  const r = await runCli(trainArgs(model, sample(trainFile), sample(evalFile), out));
  assert.equal(r.code, 0, r.stderr);
  return { out, r };
}

describe('bucketml train', () => {
  it('babyweight, full sample data, default hyperparameters: eval RMSE <= 1.07', async () => {
    const { out, r } = await trainOnSample('babyweight', 'train.csv', 'eval.csv');
    assert.ok(evalRmse(r.stdout) <= 1.07, r.stdout);
    const meta = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
    assert.equal(meta.metrics.rmse.toFixed(4), evalRmse(r.stdout).toFixed(4));
  });

  it('taxifare, full sample data, default hyperparameters: valid RMSE <= $5.00', async () => {
    const { r } = await trainOnSample('taxifare', 'taxi-train.csv', 'taxi-valid.csv');
    assert.ok(evalRmse(r.stdout) <= 5.0, r.stdout);
  });

  it('follows the Vertex contract: AIP_MODEL_DIR, snake_case flags, hypertune metric file', async () => {
    const dir = await tempDir();
    const train = await sampleCsv(dir, 'train-1.csv', 'babyweight/train.csv', 2000);
    await sampleCsv(dir, 'train-2.csv', 'babyweight/train.csv', 500);
    const evalPath = await sampleCsv(dir, 'eval.csv', 'babyweight/eval.csv', 500);
    const metricFile = join(dir, 'hp', 'output.metrics');
    const r = await runCli(
      [
        'train',
        '--model=babyweight',
        '--train_data',
        join(dir, 'train-*.csv'),
        '--eval_data',
        evalPath,
        '--batch_size=256',
        '--nnsize',
        '32',
        '16',
        '--train_examples',
        '5120',
        '--evaluations',
        '4',
      ],
      {
        AIP_MODEL_DIR: join(dir, 'model'),
        CLOUD_ML_HP_METRIC_FILE: metricFile,
        CLOUD_ML_TRIAL_ID: '3',
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(join(dir, 'model'))).sort(), ['model.json', 'weights.bin']);
    const meta = JSON.parse(await readFile(join(dir, 'model', 'model.json'), 'utf8'));
    assert.deepEqual(meta.hyperparameters.nnsize, [32, 16]);
    assert.equal(meta.hyperparameters.batchSize, 256);
    assert.deepEqual(
      meta.data.train.files.map((f: { name: string }) => f.name),
      [train, join(dir, 'train-2.csv')],
    );
    assert.equal(meta.data.train.rowsUsed, 2500);

    const lines = (await readFile(metricFile, 'utf8')).trimEnd().split('\n');
    // An evaluation per 5 steps of the first network, then the ensemble's own (its 3 networks' steps).
    assert.equal(meta.hyperparameters.ensemble, 3);
    assert.equal(lines.length, 5);
    assert.equal(JSON.parse(lines[4]).global_step, String(meta.training.steps));
    for (const [i, line] of lines.slice(0, 4).entries()) {
      // Key order and spacing exactly as Python's json.dumps(sort_keys=True).
      assert.match(
        line,
        /^\{"global_step": "\d+", "rmse": "\d+\.\d+", "timestamp": \d+(\.\d+)?, "trial": "3"\}$/,
      );
      assert.equal(JSON.parse(line).global_step, String(5 * (i + 1)));
    }
    assert.equal(Number(JSON.parse(lines[4]).rmse).toFixed(4), meta.metrics.rmse.toFixed(4));
  });

  it('reads and writes gs:// paths through the Cloud Storage FUSE mount, as on Vertex AI', async () => {
    const fuse = await tempDir();
    await mkdir(join(fuse, 'b/data/babyweight'), { recursive: true });
    await sampleCsv(join(fuse, 'b/data/babyweight'), 'train.csv', 'babyweight/train.csv', 1000);
    await sampleCsv(join(fuse, 'b/data/babyweight'), 'eval.csv', 'babyweight/eval.csv', 300);
    const args = [
      'train',
      '--model=babyweight',
      '--train_data',
      'gs://b/data/babyweight/train.csv',
      '--eval_data',
      'gs://b/data/babyweight/eval.csv',
      '--train_examples',
      '1024',
    ];
    const r = await runCli(args, {
      AIP_MODEL_DIR: 'gs://b/jobs/j1/model',
      BUCKETML_GCS_FUSE_ROOT: fuse,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(join(fuse, 'b/jobs/j1/model'))).sort(), [
      'model.json',
      'weights.bin',
    ]);
    const unmounted = await runCli(args, {
      AIP_MODEL_DIR: 'gs://b/jobs/j1/model',
      BUCKETML_GCS_FUSE_ROOT: join(fuse, 'absent'),
    });
    assert.notEqual(unmounted.code, 0);
    assert.match(
      unmounted.stderr,
      /gs:\/\/b\/.*Cloud Storage FUSE at .*absent\/.*not mounted here/,
    );
  });

  it('runs on the cpu backend too, and says which backend ran', async () => {
    const dir = await tempDir();
    const train = await sampleCsv(dir, 'train.csv', 'babyweight/train.csv', 1000);
    const r = await runCli(
      trainArgs('babyweight', train, train, join(dir, 'm'), '--train-examples', '2048'),
      { BUCKETML_TF_BACKEND: 'cpu' },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /backend cpu/);
    assert.equal(
      JSON.parse(await readFile(join(dir, 'm', 'model.json'), 'utf8')).training.backend,
      'cpu',
    );
  });

  it('reports usage and data errors clearly with distinct exit codes', async () => {
    const dir = await tempDir();
    const train = await sampleCsv(dir, 'train.csv', 'babyweight/train.csv', 100);
    const data = (trainData: string) => ['--train-data', trainData, '--eval-data', train];
    const cases: [string[], number, RegExp][] = [
      [data(train), 2, /--model or --label is required/],
      [['--train-data', train], 2, /--eval-data is required/],
      [['--model', 'babyweight', '--epochs', '3'], 2, /unknown option --epochs/],
      [['--model', 'm', '--label', 'y', ...data(train)], 2, /give either --model or --label/],
      [
        ['--model', 'housing', ...data(train), '--output-dir', dir],
        1,
        /"housing" is neither a built-in model \(babyweight, taxifare\) nor a readable spec file/,
      ],
      [
        ['--model', 'taxifare', ...data(train), '--output-dir', dir],
        1,
        /train\.csv: expected 7 columns \(fare_amount, .*\), found 6 on line 1/,
      ],
      [
        ['--model', 'babyweight', ...data(join(dir, 'x-*.csv')), '--output-dir', dir],
        1,
        /x-\*\.csv: no file matches/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const r = await runCli(['train', ...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const noOutput = await runCli(['train', '--model', 'babyweight', ...data(train)], {
      AIP_MODEL_DIR: '',
    });
    assert.equal(noOutput.code, 2);
    assert.match(noOutput.stderr, /--output-dir is required when AIP_MODEL_DIR is not set/);
  });

  it('trains a user-supplied spec file for another tabular CSV', async () => {
    const dir = await tempDir();
    // A synthetic housing CSV with a header: price = 50·rooms + city premium + noise.
    const cities = ['north', 'south', 'east'];
    const rows = ['price,rooms,city,id'];
    let s = 1;
    const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < 3000; i++) {
      const rooms = 1 + Math.floor(rand() * 6);
      const c = Math.floor(rand() * 3);
      rows.push(
        `${(50 * rooms + 40 * c + 10 * (rand() - 0.5)).toFixed(2)},${rooms},${cities[c]},h${i}`,
      );
    }
    await writeFile(join(dir, 'houses.csv'), rows.join('\n'));
    await writeFile(
      join(dir, 'houses.json'),
      JSON.stringify({
        name: 'houses',
        header: true,
        columns: ['id', 'city', 'rooms', 'price'],
        label: { name: 'price', min: 0 },
        key: 'id',
        numeric: [{ name: 'rooms', min: 0, max: 20 }],
        categorical: [{ name: 'city', vocabulary: cities }],
        wide: ['city'],
        deep: ['rooms', 'city'],
        hyperparameters: { trainExamples: 60000, batchSize: 128, learningRate: 0.01, nnsize: [16] },
      }),
    );
    const houses = join(dir, 'houses.csv');
    const r = await runCli(trainArgs(join(dir, 'houses.json'), houses, houses, join(dir, 'm')));
    assert.equal(r.code, 0, r.stderr);
    // Label std is ~90; the noise floor is ~2.9.
    assert.ok(evalRmse(r.stdout) < 8, r.stdout);
    await writeFile(join(dir, 'q.json'), '{"id":"q1","rooms":3,"city":"east"}\n');
    const p = await runCli([
      'predict',
      '--model-dir',
      join(dir, 'm'),
      '--json-instances',
      join(dir, 'q.json'),
    ]);
    assert.equal(p.code, 0, p.stderr);
    // The model's key column is echoed under its own name.
    const { id, price } = JSON.parse(p.stdout);
    assert.equal(id, 'q1');
    assert.ok(Math.abs(price - 230) < 10, `price ${price}`);
  });
});

describe('bucketml train --label and infer-spec: a header CSV and a label name suffice', () => {
  const quakes = (f: string) => join(DATA, 'tables/earthquakes', f);

  it('infer-spec prints a full spec in the spec format, with the reasons on stderr', async () => {
    const r = await runCli(['infer-spec', '--label', 'mag', quakes('train.csv')]);
    assert.equal(r.code, 0, r.stderr);
    const spec = JSON.parse(r.stdout);
    assert.equal(spec.name, 'train');
    assert.equal(spec.label.name, 'mag');
    assert.ok(
      spec.dates.some(
        (d: { name: string; parts: string[] }) => d.name === 'time' && d.parts.includes('hour'),
      ),
    );
    assert.ok(
      spec.categorical.some((c: { name: string; oov: boolean }) => c.name === 'magType' && c.oov),
    );
    assert.match(r.stderr, /time: a date with time/);
    const classifier = JSON.parse(
      (await runCli(['infer-spec', '--label', 'magType', quakes('train.csv')])).stdout,
    );
    assert.equal(classifier.label.type, 'categorical');
    const bad = await runCli(['infer-spec', '--label', 'nope', quakes('train.csv')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /label column "nope" is not in the header/);
  });

  it('train --label infers the spec, trains, and saves the spec and statistics inside the model; predict reads CSV instances', async () => {
    const out = join(await tempDir(), 'quakes');
    const r = await runCli(
      [
        'train',
        '--label',
        'mag',
        '--train-data',
        quakes('train.csv'),
        '--eval-data',
        quakes('eval.csv'),
        '--output-dir',
        out,
        '--train-examples',
        '3000',
      ],
      { BUCKETML_TF_BACKEND: 'cpu' },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /inferred from \d+ rows: numeric [^;]*depth/);
    assert.ok(evalRmse(r.stdout) < 1, r.stdout);
    const meta = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
    assert.equal(meta.spec.name, 'quakes');
    assert.ok(meta.spec.inferred.columns.length >= 19);
    // CSV instances: the eval file itself (the label column is ignored), one answer per row, in order.
    const p = await runCli(['predict', '--model-dir', out, '--csv-instances', quakes('eval.csv')]);
    assert.equal(p.code, 0, p.stderr);
    const answers = jsonLines(p.stdout);
    assert.equal(
      answers.length,
      (await readFile(quakes('eval.csv'), 'utf8')).trimEnd().split('\n').length - 1,
    );
    assert.ok(answers.every((a) => typeof a.mag === 'number'));
    // Without a key column the caller's key is echoed.
    const withKey = await runCli(
      ['predict', '--model-dir', out, '--json-instances', '-'],
      {},
      JSON.stringify({
        key: 'k7',
        time: '2018-02-10 12:00:00',
        depth: 5,
        latitude: 34,
        longitude: -117,
      }) + '\n',
    );
    assert.equal(JSON.parse(withKey.stdout).key, 'k7', withKey.stdout + withKey.stderr);
    const both = await runCli([
      'predict',
      '--model-dir',
      out,
      '--csv-instances',
      quakes('eval.csv'),
      '--json-instances',
      '-',
    ]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give one of --json-instances and --csv-instances/);
  });
  it('train --label with a two-class label trains a binary classifier; predict answers the class with classes and scores summing to 1', async () => {
    const dir = await tempDir();
    const stops = (f: string) => join(DATA, 'tables/mpls_stops', f);
    const train = await sampleCsv(dir, 'train.csv', 'tables/mpls_stops/train.csv', 1201);
    const evalFile = await sampleCsv(dir, 'eval.csv', 'tables/mpls_stops/eval.csv', 301);
    const out = join(dir, 'stops');
    const r = await runCli(
      [
        'train',
        ...['--label', 'problem', '--train-data', train, '--eval-data', evalFile],
        ...['--output-dir', out, '--train-examples', '6000', '--ensemble', '1'],
      ],
      { BUCKETML_TF_BACKEND: 'cpu' },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /problem: categories, so a binary classifier/);
    const logloss = Number(/eval logloss: ([0-9.]+)/.exec(r.stdout)?.[1]);
    assert.ok(logloss > 0 && logloss < 0.6, r.stdout);
    assert.match(r.stdout, /auc: 0\.[5-9]/);
    const p = await runCli(['predict', '--model-dir', out, '--csv-instances', evalFile]);
    assert.equal(p.code, 0, p.stderr);
    const answers = jsonLines<{ problem: string; classes: string[]; scores: number[] }>(p.stdout);
    assert.equal(answers.length, 300);
    for (const a of answers) {
      assert.deepEqual(a.classes, ['suspicious', 'traffic']);
      assert.equal(a.problem, a.classes[a.scores[0] >= a.scores[1] ? 0 : 1]);
      assert.ok(Math.abs(a.scores[0] + a.scores[1] - 1) < 1e-6);
    }
    const truth = (await readFile(stops('eval.csv'), 'utf8')).split('\n').slice(1, 301);
    const right = answers.filter((a, i) => truth[i].endsWith(`,${a.problem}`)).length;
    assert.ok(right / 300 > 0.7, `accuracy ${right / 300}`);
  });
});

describe('bucketml cancel', () => {
  it("writes the run's cancel request into a directory bucket; an unknown run or a bad id is refused", async () => {
    const bucket = await tempDir();
    const runId = 'quakes-0123456789ab';
    await mkdir(join(bucket, 'runs', runId), { recursive: true });
    await writeFile(
      join(bucket, 'runs', runId, 'run.json'),
      JSON.stringify({ runId, state: 'tuning' }),
    );
    const r = await runCli([
      'cancel',
      ...['--bucket', bucket, '--run', runId],
      '--reason',
      'wrong file',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /cancel requested for run quakes-0123456789ab \(now tuning\)/);
    const request = JSON.parse(await readFile(join(bucket, 'runs', runId, 'cancel.json'), 'utf8'));
    assert.equal(request.reason, 'wrong file');
    const unknown = await runCli(['cancel', '--bucket', bucket, '--run', 'quakes-ffffffffffff']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no run quakes-ffffffffffff/);
    const bad = await runCli(['cancel', '--bucket', bucket, '--run', '../../etc']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--run: "..\/..\/etc" is not a run id/);
  });
});

describe('bucketml models and rollback', () => {
  const A = 'babyweight-00000000000a';
  const B = 'babyweight-00000000000b';
  async function bucketWithPointer(text: string) {
    const bucket = await tempDir();
    await mkdir(join(bucket, 'models/babyweight'), { recursive: true });
    await writeFile(join(bucket, 'models/babyweight/serving.json'), text);
    return bucket;
  }

  it('a broken serving.json is named with what is wrong, in one line, not a stack', async () => {
    for (const [text, problem] of [
      ['{broken', /not JSON/],
      ['null', /it holds null, not an object/],
      ['[]', /it holds an array, not an object/],
      ['{"version":"../../../etc"}', /its version "..\/..\/..\/etc" is not a version name/],
    ] as const) {
      const bucket = await bucketWithPointer(text);
      const listed = await runCli(['models', '--bucket', bucket]);
      assert.equal(listed.code, 1, listed.stderr);
      assert.match(listed.stdout, /^babyweight: serving nothing$/m);
      assert.match(
        listed.stderr,
        new RegExp(
          `^bucketml models: models/babyweight/serving\\.json \\(generation \\d+\\) is not a valid serving pointer: ${problem.source}.*--to VERSION replaces it\\)\n$`,
        ),
      );
      const rolled = await runCli(['rollback', '--bucket', bucket, '--model', 'babyweight']);
      assert.equal(rolled.code, 1, rolled.stderr);
      assert.equal(rolled.stderr.split('\n').length, 2, rolled.stderr);
      assert.match(rolled.stderr, problem);
      assert.doesNotMatch(rolled.stderr, /version undefined|first version|\n\s+at /);
    }
  });

  it('a rollback retried after its history line was lost records the line and moves nothing', async () => {
    // The pointer a rollback from B to A wrote, cut off before its history line.
    const pointer = {
      model: 'babyweight',
      version: A,
      prefix: `models/babyweight/${A}/`,
      metric: 'rmse',
      value: 1.1,
      runId: A,
      deployedAt: '2026-01-02T00:00:00.000Z',
      previousVersion: B,
      reason: 'rollback',
      note: 'B answers oddly',
    };
    const bucket = await bucketWithPointer(JSON.stringify(pointer));
    const r = await runCli(['rollback', '--bucket', bucket, '--model', 'babyweight']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `the rollback ${B} → ${A} that moved the pointer had no history line: recorded it now`,
      ),
    );
    assert.match(r.stdout, new RegExp(`babyweight: ${A} is already serving \\(nothing moved\\)`));
    const served = JSON.parse(
      await readFile(join(bucket, 'models/babyweight/serving.json'), 'utf8'),
    );
    assert.deepEqual(served, pointer, 'the pointer is left as it is');
    const history = jsonLines(
      await readFile(join(bucket, 'models/babyweight/history.jsonl'), 'utf8'),
    );
    assert.deepEqual(
      history.map((c) => [c.reason, c.from, c.to, c.note]),
      [['rollback', B, A, 'B answers oddly']],
    );
  });

  it('--to that is no version of the model, and a --bucket that is a file, are usage errors', async () => {
    const bucket = await tempDir();
    for (const to of ['../x', '/etc', 'a\nb', 'taxifare-00000000000a']) {
      const r = await runCli(['rollback', '--bucket', bucket, '--model', 'babyweight', '--to', to]);
      assertUsageError(r, 'rollback', 'to');
      assert.match(
        r.stderr,
        /--to must be a version of babyweight: a run id babyweight-<12 hex digits>/,
      );
    }
    for (const verb of [['models'], ['rollback', '--model', 'babyweight']]) {
      const r = await runCli([...verb, '--bucket', '/etc/passwd']);
      assertUsageError(r, verb[0], 'bucket');
      assert.match(r.stderr, /\/etc\/passwd is not a directory/);
    }
  });
});

describe('bucketml predict', () => {
  let modelDir: string;
  let dir: string;
  before(async () => {
    dir = await tempDir();
    const train = await sampleCsv(dir, 'train.csv', 'babyweight/train.csv', 3000);
    modelDir = join(dir, 'model');
    const r = await runCli(
      trainArgs('babyweight', train, train, modelDir, '--train-examples', '10240'),
    );
    assert.equal(r.code, 0, r.stderr);
  });

  it('prints one prediction per instance, in order, with the key and the label name', async () => {
    const file = join(dir, 'ok.json');
    await writeFile(
      file,
      [
        '{"key":"b1","is_male":"True","mother_age":26,"plurality":"Single(1)","gestation_weeks":39}',
        '{"key":"b2","is_male":"Unknown","mother_age":38,"plurality":"Twins(2)","gestation_weeks":32}',
        '',
        '{"is_male":"False","mother_age":30,"plurality":"Single(1)","gestation_weeks":40}',
      ].join('\n'),
    );
    const r = await runCli(['predict', '--model-dir', modelDir, '--json-instances', file]);
    assert.equal(r.code, 0, r.stderr);
    const out = jsonLines(r.stdout);
    assert.equal(out.length, 3);
    assert.deepEqual(Object.keys(out[0]), ['key', 'weight_pounds']);
    assert.equal(out[0].key, 'b1');
    assert.equal(out[1].key, 'b2');
    assert.deepEqual(Object.keys(out[2]), ['weight_pounds']);
    // A full-term single baby outweighs a 32-week twin.
    assert.ok(out[0].weight_pounds > out[1].weight_pounds + 1, JSON.stringify(out));
    assert.ok(out[0].weight_pounds > 5 && out[0].weight_pounds < 10);
  });

  it('answers each bad instance on its own line and exits non-zero at the end', async () => {
    const stdin = [
      '{"key":"ok","is_male":"True","mother_age":26,"plurality":"Single(1)","gestation_weeks":39}',
      '{"key":"k2","is_male":"Maybe","mother_age":26,"plurality":"Single(1)","gestation_weeks":39}',
      'not json',
      '[1,2]',
      '{"key":"k5","is_male":"True","plurality":"Single(1)","gestation_weeks":39}',
      '{"key":"k6","is_male":"True","mother_age":26,"plurality":"Single(1)","gestation_weeks":"soon"}',
    ].join('\n');
    const r = await runCli(
      ['predict', '--model-dir', modelDir, '--json-instances', '-'],
      {},
      stdin,
    );
    assert.equal(r.code, 1);
    const out = jsonLines(r.stdout);
    assert.equal(out.length, 6);
    assert.equal(typeof out[0].weight_pounds, 'number');
    assert.deepEqual(out[1], {
      key: 'k2',
      error: 'is_male: "Maybe" is not one of True, False, Unknown',
    });
    assert.equal(out[2].key, undefined, 'a line that is not JSON has no key to echo');
    assert.match(out[2].error, /^line 3: not valid JSON/);
    assert.deepEqual(out[3], { error: 'instance must be a JSON object' });
    assert.deepEqual(out[4], { key: 'k5', error: 'mother_age: missing' });
    assert.deepEqual(out[5], { key: 'k6', error: 'gestation_weeks: "soon" is not a number' });
    assert.match(r.stderr, /5 invalid instance\(s\)/);
  });

  it('refuses a directory that holds no model', async () => {
    const r = await runCli(['predict', '--model-dir', dir, '--json-instances', '-'], {}, '');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /model\.json not found: not a model directory/);
  });
});

/** A usage error: exit 2 and exactly one stderr line, `bucketml <verb>: …`, naming the flag. */
function assertUsageError(r: { code: number; stderr: string }, verb: string, flag: string) {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0].startsWith(`bucketml ${verb}: `), lines[0]);
  assert.ok(lines[0].includes(`--${flag}`), lines[0]);
}

describe('every bucketml verb', () => {
  it('is listed by bucketml --help', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const verb of VERBS) assert.match(r.stdout, new RegExp(`^  ${verb.name} `, 'm'));
    const unknown = await runCli(['no-such-verb']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.trimEnd().split('\n').length, 1, unknown.stderr);
  });

  for (const verb of VERBS) {
    describe(verb.name, () => {
      it('--help prints every flag with its default', async () => {
        const r = await runCli([verb.name, '--help']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        const lines = r.stdout.split('\n');
        for (const flag of [...verb.flags, { name: 'help', type: 'boolean', help: '' } as Flag]) {
          const line = lines.find(
            (l) => l.trimStart().startsWith(`--${flag.name} `) || l.trim() === `--${flag.name}`,
          );
          assert.ok(line, `--${flag.name} is listed:\n${r.stdout}`);
          if (flag.name === 'help') continue;
          if (flag.required) assert.ok(line.endsWith('(required)'), line);
          else if (flag.default !== undefined)
            assert.ok(line.endsWith(`(default: ${formatDefault(flag.default)})`), line);
          else if (flag.type === 'boolean') assert.ok(line.endsWith('(default: false)'), line);
          else
            assert.match(
              line,
              /\(default: [^)]+\)$/,
              `a flag without a value default says what happens without it: ${line}`,
            );
        }
        // --help wins over anything else on the line.
        const withJunk = await runCli([verb.name, '--no-such-flag', '--help']);
        assert.equal(withJunk.code, 0, withJunk.stderr);
        assert.equal(withJunk.stdout, r.stdout);
      });

      it('an unknown flag is a usage error naming it', async () => {
        assertUsageError(
          await runCli([verb.name, '--no-such-flag', '1']),
          verb.name,
          'no-such-flag',
        );
        assertUsageError(await runCli([verb.name, '--no_such_flag=1']), verb.name, 'no-such-flag');
      });

      it('a bad value is a usage error naming the flag', async () => {
        const cases: [string[], string][] = [];
        for (const flag of verb.flags) {
          if (flag.type === 'boolean') cases.push([[`--${flag.name}=yes`], flag.name]);
          else cases.push([[`--${flag.name}`], flag.name]); // no value
          if (flag.type === 'number' || flag.type === 'positive-int')
            cases.push([[`--${flag.name.replace(/-/g, '_')}=x`], flag.name]);
          if (flag.type === 'positive-int') cases.push([[`--${flag.name}`, '0'], flag.name]);
        }
        const results = await Promise.all(cases.map(([args]) => runCli([verb.name, ...args])));
        results.forEach((r, i) => assertUsageError(r, verb.name, cases[i][1]));
      });
    });
  }

  it("names the flag in the message of each verb's own checks", async () => {
    const deployArgs = 'deploy --dry-run --project p --region us-central1 --bucket b'.split(' ');
    const cases: [string[], string, string | RegExp][] = [
      [
        ['train', '--model', 'babyweight', '--batch-size', 'x'],
        'batch-size',
        'bucketml train: --batch-size must be a positive integer (got "x")',
      ],
      [
        ['train', '--model', 'babyweight', '--nnsize', '64', 'x'],
        'nnsize',
        'bucketml train: --nnsize must be a positive integer (got "x")',
      ],
      [
        trainArgs('babyweight', 'a.csv', 'b.csv', '/tmp/m', '--max-bad-rows', '2'),
        'max-bad-rows',
        /between 0 and 1/,
      ],
      [
        ['predict', '--model-dir', '/tmp', '--json-instances', '/no/such/file.json'],
        'json-instances',
        /file not found/,
      ],
      [[...deployArgs, '--project', 'P!'], 'project', /must be a project id/],
      [[...deployArgs, '--region', 'mars'], 'region', /must be a region/],
      [[...deployArgs, '--bucket', 'gs://b'], 'bucket', /must be a bucket name/],
    ];
    for (const [args, flag, message] of cases) {
      const r = await runCli(args);
      assertUsageError(r, args[0], flag);
      if (typeof message === 'string') assert.equal(r.stderr.trimEnd(), message);
      else assert.match(r.stderr, message);
    }
  });
});
