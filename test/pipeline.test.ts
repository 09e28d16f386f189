import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PubSub } from '@google-cloud/pubsub';
import { HELD_OUT_EVERY, layout, TOPICS } from '@bucketml/contracts';
import { readModelDir, scanCsv } from '@bucketml/model';
import { startLocalStack, type LocalStack, type LogLine } from '@bucketml/local-stack';
import { RunStore } from '@bucketml/pipeline';
import { DATA, runCli, sampleCsv, tempDir } from './helpers.ts';

/** A model folder's own objects besides its versions: history, models page, pointer. */
const MODEL_FILES = ['history.jsonl', 'index.html', 'page.json', 'serving.json'];
/**
 * The pipeline on the embedded default, end to end: the real Pub/Sub emulator, the four
 * functions as functions-framework processes, the bucket watcher and local training service.
 * A small study (3 trials, 2 in parallel, short training) keeps each run to seconds.
 */
const SMALL_STUDY = (
  args: string[],
  batch = 'minValue: 64\n      maxValue: 512\n      scaleType: UNIT_LOG_SCALE\n      type: INTEGER',
) => `trainingInput:
  args: ${JSON.stringify(args)}
  hyperparameters:
    goal: MINIMIZE
    hyperparameterMetricTag: rmse
    maxTrials: 3
    maxParallelTrials: 2
    params:
    - parameterName: batch_size
      ${batch}
    - parameterName: nnsize
      type: INTEGER
      minValue: 16
      maxValue: 64
      scaleType: UNIT_LOG_SCALE
`;

type Event = NonNullable<LogLine['event']>;

/** A folder's entries as the bucket lists them: names starting with '.' (locks) are internal. */
const entries = async (dir: string) =>
  (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();

async function dropBabyweight(
  stack: LocalStack,
  trainRows: number,
  evalRows: number,
  study: string,
): Promise<void> {
  const bucket = stack.bucket.root;
  await mkdir(join(bucket, 'config/babyweight'), { recursive: true });
  await writeFile(join(bucket, 'config/babyweight/hyperparam.yaml'), study);
  const staging = await tempDir();
  await mkdir(join(bucket, 'data/babyweight'), { recursive: true });
  for (const [name, source, rows] of [
    ['train.csv', 'babyweight/train.csv', trainRows],
    ['eval.csv', 'babyweight/eval.csv', evalRows],
  ] as const) {
    await copyFile(
      await sampleCsv(staging, name, source, rows),
      join(bucket, 'data/babyweight', name),
    );
  }
}

/**
 * The run the latest drop of `model` maps to (as data-upload derives it), followed through
 * run.json to its end, which must be `state`.
 */
async function dropEnded(stack: LocalStack, model: string, state: string) {
  const runId = await stack.runIdOfDrop(model);
  const run = await stack.waitForRun(runId, 180_000);
  assert.equal(run.state, state, JSON.stringify(run.error));
  // The run's last step event (its ERROR, or the gate's verdict), for the checks on what it says.
  // The function logs it just after it records the end: its line may still be in the pipe.
  const verdict = () =>
    stack.logs
      .filter(
        (l) =>
          l.event?.runId === runId &&
          (l.event.decision !== undefined || l.event.severity === 'ERROR'),
      )
      .at(-1)?.event;
  for (let waited = 0; !verdict() && waited < 5000; waited += 50)
    await new Promise((r) => setTimeout(r, 50));
  const last = verdict();
  return { runId, run, event: last ?? {} };
}

const eventsOf = (stack: LocalStack, runId: string, match: (e: Event) => boolean) =>
  stack.logs.filter((l) => l.event?.runId === runId && match(l.event)).length;

/** Stops the stack, keeping its log next to the bucket for whoever debugs a failure. */
async function stopAndKeepLog(stack: LocalStack | undefined): Promise<void> {
  if (!stack) return;
  await stack.stop();
  const path = `${stack.bucket.root}.log`;
  await writeFile(path, stack.logs.map((l) => `[${l.source}] ${l.raw}`).join('\n'));
  console.log(`# stack log: ${path}`);
}

async function predict<T = Record<string, unknown>>(
  stack: LocalStack,
  body: unknown,
  { model = 'babyweight', contentType = 'application/json' } = {},
) {
  const res = await fetch(`${stack.predictUrl}/${model}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** A CSV's first data row as an instance (the files here have no quoted fields). */
async function firstRowOf(file: string): Promise<Record<string, string>> {
  const [header, first] = (await readFile(file, 'utf8')).split('\n');
  return Object.fromEntries(header.split(',').map((n, i) => [n, first.split(',')[i]]));
}

describe('pipeline on the local stack, every event delivered 3 times', () => {
  let stack: LocalStack;
  let firstRun: string;

  before(async () => {
    stack = await startLocalStack({
      bucketDir: await tempDir('bucketml-stack-'),
      predictPort: 0,
      settleMs: 1000,
      duplicateStorageEvents: 3,
      functionEnv: { BUCKETML_DUPLICATE_PUBLISH: '3' },
    });
  });
  after(() => stopAndKeepLog(stack));

  it('a drop of two files becomes exactly one run, one study, one final training and one deployment', async () => {
    await dropBabyweight(stack, 3000, 800, SMALL_STUDY(['--train_examples=6000']));
    firstRun = (await dropEnded(stack, 'babyweight', 'deployed')).runId;

    const bucket = stack.bucket.root;
    assert.deepEqual(await entries(join(bucket, 'runs')), [firstRun]);
    assert.deepEqual(await entries(join(bucket, 'models/babyweight')), [firstRun, ...MODEL_FILES]);
    const run = JSON.parse(await readFile(join(bucket, 'runs', firstRun, 'run.json'), 'utf8'));
    assert.equal(run.state, 'deployed');
    assert.deepEqual(
      run.history.map((h: { state: string }) => h.state),
      ['received', 'tuning', 'final-training', 'gating', 'deployed'],
    );
    // Duplicates reached the training backend, yet it created one study and one final training.
    assert.ok(
      stack.training.stats.submissions > 2,
      `submissions ${stack.training.stats.submissions}`,
    );
    assert.equal(stack.training.stats.created, 2);
    assert.ok(
      stack.training.stats.maxConcurrentTrials <= 2,
      `at most maxParallelTrials at once (${stack.training.stats.maxConcurrentTrials})`,
    );
    assert.equal(
      eventsOf(stack, firstRun, (e) => String(e.message).startsWith('run created')),
      1,
    );
    assert.equal(
      eventsOf(stack, firstRun, (e) => e.decision === 'deployed'),
      1,
    );
    // The study's report sorts the 3 trials; the deployed model is complete and loadable.
    const report = JSON.parse(
      await readFile(join(bucket, 'runs', firstRun, 'report.json'), 'utf8'),
    );
    assert.equal(report.trials.length, 3);
    assert.match(
      await readFile(join(bucket, 'runs', firstRun, 'report.txt'), 'utf8'),
      /^goal MINIMIZE rmse; 3 succeeded/,
    );
    const deployed = await readModelDir(join(bucket, 'models/babyweight', firstRun));
    // Trained on the run's copy of the drop, byte for byte the dropped generation.
    const [trained] = deployed.meta.data.train.files;
    assert.ok(trained.name.endsWith(`runs/${firstRun}/inputs/train.csv`), trained.name);
    assert.equal(
      trained.sha256,
      createHash('sha256')
        .update(await readFile(join(bucket, 'data/babyweight/train.csv')))
        .digest('hex'),
    );
    // `bucketml models` names the dropped objects and the generations the run read.
    const listed = await runCli(['models', '--bucket', bucket]);
    assert.equal(listed.code, 0, listed.stderr);
    const dropped = await stack.bucket.list('data/babyweight/');
    assert.ok(dropped.length >= 2);
    const lineage = `  ${firstRun} data (training and evaluation): `;
    const line = listed.stdout.split('\n').find((l) => l.startsWith(lineage));
    assert.ok(line, listed.stdout);
    assert.deepEqual(
      line.slice(lineage.length).split(', ').sort(),
      dropped
        .filter((o) => o.name.endsWith('.csv'))
        .map((o) => `${o.name}#${o.generation}`)
        .sort(),
    );
  });

  it('serves predictions from the deployed version and answers bad requests with reasons', async () => {
    const ok = await predict(stack, {
      instances: [
        { key: 'b1', is_male: 'True', mother_age: 26, plurality: 'Single(1)', gestation_weeks: 39 },
      ],
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.model, { name: 'babyweight', version: firstRun });
    const [p] = ok.body.predictions as { key: string; weight_pounds: number }[];
    assert.equal(p.key, 'b1');
    assert.ok(p.weight_pounds > 5 && p.weight_pounds < 10, JSON.stringify(p));

    const bad = await predict(stack, {
      instances: [
        { key: 'ok', is_male: 'True', mother_age: 26, plurality: 'Single(1)', gestation_weeks: 39 },
        { key: 'k2', is_male: 'yes', mother_age: 30, plurality: 'Single(1)', gestation_weeks: 38 },
      ],
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.instances, [
      { index: 1, key: 'k2', error: 'is_male: "yes" is not one of True, False, Unknown' },
    ]);
    assert.equal((await predict(stack, { rows: [] })).status, 400);
    assert.equal(
      (await predict(stack, { instances: [] }, { contentType: 'text/plain' })).status,
      415,
    );
    const info = (await fetch(`${stack.predictUrl}/babyweight`).then((r) => r.json())) as {
      model: { version: string };
      label: string;
    };
    assert.equal(info.model.version, firstRun);
    assert.equal(info.label, 'weight_pounds');
    assert.equal(
      (
        await fetch(`${stack.predictUrl}/nosuchmodel`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"instances":[{}]}',
        })
      ).status,
      404,
    );
  });

  it('a CSV with the wrong columns fails its run with an ERROR naming the file; the serving model is unchanged', async () => {
    const pointer = await readFile(
      join(stack.bucket.root, 'models/babyweight/serving.json'),
      'utf8',
    );
    await copyFile(
      join(DATA, 'taxifare/taxi-valid.csv'),
      join(stack.bucket.root, 'data/babyweight/more-train.csv'),
    );
    const { runId, event: end } = await dropEnded(stack, 'babyweight', 'failed');
    assert.equal(end.severity, 'ERROR');
    assert.equal(end.file, 'data/babyweight/more-train.csv');
    assert.match(
      String(end.message),
      /data\/babyweight\/more-train\.csv: expected 6 columns .* found 7 on line 1/,
    );
    const run = JSON.parse(
      await readFile(join(stack.bucket.root, 'runs', runId, 'run.json'), 'utf8'),
    );
    assert.equal(run.state, 'failed');
    assert.equal(
      await readFile(join(stack.bucket.root, 'models/babyweight/serving.json'), 'utf8'),
      pointer,
    );
    await rm(join(stack.bucket.root, 'data/babyweight/more-train.csv'));
  });

  it('a worse candidate is not deployed, and an event says why', async () => {
    const pointer = await readFile(
      join(stack.bucket.root, 'models/babyweight/serving.json'),
      'utf8',
    );
    // One gradient step per trial: a model far worse than the one serving.
    await dropBabyweight(
      stack,
      2500,
      800,
      SMALL_STUDY(
        ['--train_examples=512', '--learning_rate=0.001'],
        'type: DISCRETE\n      discreteValues: [512]',
      ),
    );
    const { event: end } = await dropEnded(stack, 'babyweight', 'rejected');
    assert.equal(end.decision, 'rejected');
    assert.equal(end.severity, 'WARNING');
    assert.match(
      String(end.message),
      new RegExp(
        `candidate rejected: candidate rmse [0-9.]+ is worse than serving version ${firstRun}'s [0-9.]+`,
      ),
    );
    assert.ok(Number(end.candidateValue) > Number(end.servingValue));
    assert.equal(
      await readFile(join(stack.bucket.root, 'models/babyweight/serving.json'), 'utf8'),
      pointer,
    );
    assert.deepEqual(await entries(join(stack.bucket.root, 'models/babyweight')), [
      firstRun,
      ...MODEL_FILES,
    ]);
  });

  it('a table nobody configured fails with an ERROR that gives the one line to write', async () => {
    const bucket = stack.bucket.root;
    await mkdir(join(bucket, 'data/quakes'), { recursive: true });
    for (const f of ['train.csv', 'eval.csv'])
      await copyFile(join(DATA, 'tables/earthquakes', f), join(bucket, 'data/quakes', f));
    const { event: end } = await dropEnded(stack, 'quakes', 'failed');
    assert.match(
      String(end.message),
      /write config\/quakes\/schema\.json containing \{"label": "<the column to predict>"\} \(the columns of data\/quakes\/train\.csv: time, tz, felt/,
    );
  });

  it('a config of {"label": ...} is enough: the schema is inferred, saved with the run and the model, and the model serves', async () => {
    const bucket = stack.bucket.root;
    await mkdir(join(bucket, 'config/quakes'), { recursive: true });
    await writeFile(join(bucket, 'config/quakes/schema.json'), '{"label": "mag"}');
    await writeFile(
      join(bucket, 'config/quakes/hyperparam.yaml'),
      SMALL_STUDY(['--train_examples=3000']),
    );
    // A new generation of the drop: a new data version, so a new run.
    for (const f of ['train.csv', 'eval.csv'])
      await copyFile(join(DATA, 'tables/earthquakes', f), join(bucket, 'data/quakes', f));
    const { runId, run: ended } = await dropEnded(stack, 'quakes', 'deployed');
    assert.equal(ended.specObject, `runs/${runId}/spec.json`);
    const spec = JSON.parse(await readFile(join(bucket, ended.specObject!), 'utf8'));
    assert.equal(spec.label.name, 'mag');
    assert.ok(spec.dates.some((d: { name: string }) => d.name === 'time'));
    const model = await readModelDir(join(bucket, 'models/quakes', runId));
    assert.deepEqual(
      model.meta.spec.inferred?.columns.length,
      spec.inferred.columns.length,
      'the statistics are inside the model',
    );
    const instance = {
      key: 'q1',
      time: '2018-02-10 12:00:00',
      tz: -480,
      felt: '',
      cdi: '',
      mmi: '',
      alert: '',
      status: 'reviewed',
      tsunami: 0,
      net: 'a-new-network',
      nst: 20,
      dmin: 0.1,
      rms: 0.2,
      gap: 80,
      magType: 'ml',
      type: 'earthquake',
      longitude: -117,
      latitude: 34,
      depth: 8,
    };
    const { status, body } = await predict<{ predictions: { key: string; mag: number }[] }>(
      stack,
      { instances: [instance] },
      { model: 'quakes' },
    );
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.predictions[0].key, 'q1', "the caller's key comes back");
    assert.ok(body.predictions[0].mag > -1 && body.predictions[0].mag < 8, JSON.stringify(body));
  });

  it("a categorical label gives a served classifier tuned on the study's metric; a candidate that predicts another kind of label is refused and the classifier keeps serving", async () => {
    const bucket = stack.bucket.root;
    await mkdir(join(bucket, 'config/birds'), { recursive: true });
    await mkdir(join(bucket, 'data/birds'), { recursive: true });
    await writeFile(join(bucket, 'config/birds/schema.json'), '{"label": "phase"}');
    // A study on accuracy (MAXIMIZE): trials keep their best weights and are ranked by it.
    await writeFile(
      join(bucket, 'config/birds/hyperparam.yaml'),
      SMALL_STUDY(['--train_examples=4000'])
        .replace('goal: MINIMIZE', 'goal: MAXIMIZE')
        .replace('hyperparameterMetricTag: rmse', 'hyperparameterMetricTag: accuracy'),
    );
    const cut = async (name: string, rows: number) => {
      const lines = (await readFile(join(DATA, 'tables/birdstrikes', name), 'utf8')).split('\n');
      await writeFile(join(bucket, 'data/birds', name), lines.slice(0, rows + 1).join('\n') + '\n');
    };
    await cut('train.csv', 1500);
    await cut('eval.csv', 400);
    const { runId, run } = await dropEnded(stack, 'birds', 'deployed');
    assert.equal(run.study?.metricTag, 'accuracy');
    assert.equal(run.decision?.metric, 'accuracy');
    assert.ok(run.decision!.candidateValue! > 0.3, `accuracy ${run.decision!.candidateValue}`);
    const model = await readModelDir(join(bucket, 'models/birds', runId));
    assert.equal(model.meta.metrics.objective, 'accuracy');
    assert.ok(model.meta.metrics.confusion, 'the confusion matrix is in the model');
    const report = JSON.parse(await readFile(join(bucket, 'runs', runId, 'report.json'), 'utf8'));
    assert.deepEqual(report.final.confusion, model.meta.metrics.confusion, 'and in the run report');
    assert.deepEqual(report.final.classes, model.meta.spec.label.classes);
    const classes = model.meta.spec.label.classes!;

    const instance = await firstRowOf(join(bucket, 'data/birds/eval.csv'));
    const { status, body } = await predict<{
      predictions: { key: string; phase: string; classes: string[]; scores: number[] }[];
    }>(stack, { instances: [{ ...instance, key: 'strike-1' }] }, { model: 'birds' });
    assert.equal(status, 200, JSON.stringify(body));
    const [answer] = body.predictions;
    assert.equal(answer.key, 'strike-1');
    assert.deepEqual(answer.classes, classes);
    assert.ok(classes.includes(answer.phase));
    assert.ok(Math.abs(answer.scores.reduce((a, b) => a + b) - 1) < 1e-6);

    // The same model name, now asked for a number: the gate refuses, naming what changed.
    await writeFile(join(bucket, 'config/birds/schema.json'), '{"label": "cost_total"}');
    await writeFile(
      join(bucket, 'config/birds/hyperparam.yaml'),
      SMALL_STUDY(['--train_examples=2000']),
    );
    await cut('train.csv', 1400);
    await cut('eval.csv', 300);
    const { run: refused } = await dropEnded(stack, 'birds', 'rejected');
    assert.match(
      refused.decision!.reason,
      /now a regression target; the serving model is a multiclass one/,
    );
    const pointer = JSON.parse(await readFile(join(bucket, 'models/birds/serving.json'), 'utf8'));
    assert.equal(pointer.version, runId, 'the classifier keeps serving');
  });

  it('bucketml cancel stops a tuning run: its trainers stop, the run fails with the reason, and the serving model is unchanged', async () => {
    const bucket = stack.bucket.root;
    const servingNow = () =>
      readFile(join(bucket, 'models/babyweight/serving.json'), 'utf8').catch(() => null);
    const pointer = await servingNow();
    // A study whose trials would take minutes.
    await mkdir(join(bucket, 'config/babyweight'), { recursive: true });
    await writeFile(
      join(bucket, 'config/babyweight/hyperparam.yaml'),
      SMALL_STUDY(['--train_examples=5000000']),
    );
    const lines = (await readFile(join(DATA, 'babyweight/train.csv'), 'utf8')).split('\n');
    await mkdir(join(bucket, 'data/babyweight'), { recursive: true });
    await copyFile(join(DATA, 'babyweight/eval.csv'), join(bucket, 'data/babyweight/eval.csv'));
    await writeFile(
      join(bucket, 'data/babyweight/train.csv'),
      lines.slice(0, 900).join('\n') + '\n',
    );
    const runId = await stack.runIdOfDrop('babyweight');
    const runs = new RunStore(stack.bucket);
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      if ((await runs.get(runId))?.run.state === 'tuning') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const asked = Date.now();
    const r = await runCli([
      'cancel',
      ...['--bucket', bucket, '--run', runId],
      '--reason',
      'not this one',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const run = await stack.waitForRun(runId, 60_000);
    assert.equal(run.state, 'failed');
    assert.equal(run.error?.message, 'cancelled: not this one');
    for (let waited = 0; stack.training.jobState(`${runId}-study`) !== 'CANCELLED'; waited += 200) {
      assert.ok(waited < 20_000, `the study is ${stack.training.jobState(`${runId}-study`)}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.ok(Date.now() - asked < 30_000, 'cancelled within seconds, not after 5M examples');
    assert.equal(await servingNow(), pointer);
    await rm(join(bucket, 'config/babyweight/hyperparam.yaml'));
  });

  it('a drop of one two-class CSV whose whole config is {"label": ...} holds out its evaluation rows, is tuned on log loss by the default study and served as a binary classifier', async () => {
    const bucket = stack.bucket.root;
    await mkdir(join(bucket, 'config/stops'), { recursive: true });
    await mkdir(join(bucket, 'data/stops'), { recursive: true });
    await writeFile(join(bucket, 'config/stops/schema.json'), '{"label": "problem"}');
    const lines = (await readFile(join(DATA, 'tables/mpls_stops/train.csv'), 'utf8')).split('\n');
    await writeFile(join(bucket, 'data/stops/stops.csv'), lines.slice(0, 801).join('\n') + '\n');
    const { runId, run } = await dropEnded(stack, 'stops', 'deployed');
    let heldOutRows = -1; // the header is a record too
    await scanCsv(
      createReadStream(join(bucket, layout.runSplitPart(runId, 'data/stops/stops.csv', 'eval'))),
      () => heldOutRows++,
    );
    assert.ok(heldOutRows > 110 && heldOutRows < 210, `${heldOutRows} of 800 rows held out`);
    assert.deepEqual(run.data.heldOut, {
      every: HELD_OUT_EVERY,
      withRows: { train: ['data/stops/stops.csv'], eval: ['data/stops/stops.csv'] },
      rows: { train: 800 - heldOutRows, eval: heldOutRows },
    });
    assert.equal(run.decision?.evalRows, heldOutRows, 'the gate scored the held-out rows');
    assert.equal(run.study?.metricTag, 'logloss');
    assert.equal(run.decision?.metric, 'logloss');
    const model = await readModelDir(join(bucket, 'models/stops', runId));
    assert.deepEqual(model.meta.spec.label.classes, ['suspicious', 'traffic']);
    assert.ok(model.meta.metrics.values!.auc > 0.5, JSON.stringify(model.meta.metrics.values));
    const instance = await firstRowOf(join(bucket, 'data/stops/stops.csv'));
    const { status, body } = await predict<{
      predictions: { key: number; problem: string; classes: string[]; scores: number[] }[];
    }>(stack, { instances: [{ ...instance, key: 7 }] }, { model: 'stops' });
    assert.equal(status, 200, JSON.stringify(body));
    const [answer] = body.predictions;
    assert.equal(answer.key, 7);
    assert.deepEqual(answer.classes, ['suspicious', 'traffic']);
    assert.ok(answer.classes.includes(answer.problem));
    assert.ok(Math.abs(answer.scores[0] + answer.scores[1] - 1) < 1e-6);
  });
});

describe('pipeline on the local stack, each function killed mid-step once', () => {
  let stack: LocalStack;
  before(async () => {
    const crashDir = await tempDir('bucketml-crash-');
    stack = await startLocalStack({
      bucketDir: await tempDir('bucketml-stack-'),
      predictPort: 0,
      settleMs: 1000,
      functionEnv: {
        BUCKETML_CRASH_DIR: crashDir,
        BUCKETML_CRASH_POINTS:
          'data-upload:after-run-created,job-completed:after-report,deploy:after-copy',
      },
    });
  });
  after(() => stopAndKeepLog(stack));

  it('redelivery completes the run with one deployment, a whole model and exactly one run.finished', async () => {
    // A pull subscription on the outcomes topic, as a user's subscriber would have.
    const pubsub = new PubSub({ projectId: 'bucketml-local' });
    const [outcomes] = await pubsub.topic(TOPICS.runOutcomes).createSubscription('test-outcomes');
    const finished: { runId: string; outcome: string; version?: string }[] = [];
    outcomes.on('message', (m) => {
      finished.push(JSON.parse(m.data.toString('utf8')));
      m.ack();
    });
    await dropBabyweight(stack, 3000, 800, SMALL_STUDY(['--train_examples=6000']));
    const { runId } = await dropEnded(stack, 'babyweight', 'deployed');
    // Every function was killed once and its event redelivered: still one message.
    await new Promise((r) => setTimeout(r, 3000));
    await outcomes.close();
    const ours = finished.filter((f) => f.runId === runId);
    assert.equal(ours.length, 1, JSON.stringify(finished));
    assert.equal(ours[0].outcome, 'deployed');
    assert.equal(ours[0].version, runId);
    for (const fn of ['data-upload', 'job-completed', 'deploy'] as const) {
      assert.ok(stack.functions[fn].restarts >= 1, `${fn} was killed and restarted`);
    }
    const bucket = stack.bucket.root;
    assert.deepEqual(await entries(join(bucket, 'models/babyweight')), [runId, ...MODEL_FILES]);
    const model = await readModelDir(join(bucket, 'models/babyweight', runId)); // verifies the weights checksum
    assert.equal(model.meta.name, 'babyweight');
    assert.equal(stack.training.stats.created, 2);
    const run = JSON.parse(await readFile(join(bucket, 'runs', runId, 'run.json'), 'utf8'));
    assert.equal(run.state, 'deployed');
  });
});
