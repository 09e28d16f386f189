import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dataVersion,
  dropObjects,
  HELD_OUT_EVERY,
  layout,
  runIdOf,
  type StorageObjectData,
} from '@bucketml/contracts';
import { BUILTIN_SPECS, isHeldOut, scanCsv } from '@bucketml/model';
import { onObjectFinalized } from '@bucketml/pipeline';
import {
  crashing,
  drop,
  EVAL_CSV,
  finished,
  harness,
  MODEL,
  onlyStudy,
  paths,
  runOf,
  SimulatedCrash,
  snapshot,
  TRAIN_CSV,
  type Harness,
} from './fixtures.ts';

/** The run records in the bucket (runs/<id>/run.json), not the runs' other objects. */
const runRecords = (bucket: Harness['bucket']) =>
  bucket.names('runs/').filter((n) => n.endsWith('/run.json'));

/** One job was created, and the bucket holds its one run: tuning, moved there once from received. */
function assertOneTuningRun(h: Harness, message?: string): void {
  const study = onlyStudy(h.training);
  assert.equal(h.training.submissions.filter((s) => s.created).length, 1, 'one job');
  assert.deepEqual(runRecords(h.bucket), [paths.run(study.runId)]);
  const run = runOf(h.bucket, study.runId)!;
  assert.equal(run.state, 'tuning');
  assert.deepEqual(
    run.history.map((s) => s.state),
    ['received', 'tuning'],
    message,
  );
}

/** The bucket's one run, failed with nothing submitted to training: its error. */
function failedRunError(h: Harness): {
  stage: string;
  message: string;
  file?: string;
  line?: number;
} {
  assert.equal(h.training.submissionCount(), 0, 'no job');
  const [runName] = runRecords(h.bucket);
  const run = h.bucket.json<{
    state: string;
    error: { stage: string; message: string; file?: string; line?: number };
  }>(runName)!;
  assert.equal(run.state, 'failed');
  return run.error;
}

/** Whether a drop without evaluation files holds `line` out (the side the split gives it). */
async function heldOut(line: string): Promise<boolean> {
  let held = false;
  await scanCsv(
    (async function* () {
      yield Buffer.from(line);
    })(),
    (row) => (held = isHeldOut(row, HELD_OUT_EVERY)),
  );
  return held;
}

/** Stage 1: a drop under data/<model>/ becomes one run and one study job. */
/** A 3-trial study of nembeds, in the course's form. */
const nembedsStudy = (goal: string, tag: string, args = '[]') => `trainingInput:
  args: ${args}
  hyperparameters:
    goal: ${goal}
    hyperparameterMetricTag: ${tag}
    maxTrials: 3
    maxParallelTrials: 1
    params:
    - parameterName: nembeds
      type: INTEGER
      minValue: 3
      maxValue: 5
      scaleType: UNIT_LINEAR_SCALE
`;

describe('data-upload: onObjectFinalized', () => {
  it('a drop of train and eval CSVs becomes one run, tuning, with one study job on the course study', async () => {
    const h = harness();
    const events = drop(h.bucket);
    for (const e of events) await onObjectFinalized(h.ctx, e);

    const study = onlyStudy(h.training);
    const runId = study.runId;
    assert.match(runId, /^babyweight-[0-9a-f]{12}$/);
    assert.equal(
      h.training.submissionCount(),
      1,
      'the second file of the drop found the run started',
    );
    assert.equal(study.jobId, `${runId}-study`);
    assert.equal(study.model, MODEL);
    // Trials read the run's copies of the drop, at the generations the run was created for.
    assert.deepEqual(study.trainData, [layout.runInput(runId, paths.train)]);
    assert.deepEqual(study.evalData, [layout.runInput(runId, paths.eval)]);
    assert.equal(study.seed, 42);
    assert.equal(study.outputDir, `runs/${runId}/trials/`);
    // The course's default study (no config/<model>/hyperparam.yaml).
    assert.equal(study.goal, 'MINIMIZE');
    assert.equal(study.metricTag, 'rmse');
    assert.equal(study.maxTrials, 20);
    assert.equal(study.maxParallelTrials, 5);
    assert.deepEqual(
      study.params.map((p) => p.name),
      ['batch_size', 'nembeds', 'nnsize'],
    );
    // Trials train one network each; the final training trains the spec's ensemble.
    assert.deepEqual(study.args, ['--ensemble=1', '--objective=rmse', '--train_examples=25000']);

    const run = runOf(h.bucket, runId)!;
    assert.equal(run.state, 'tuning');
    assert.deepEqual(
      run.history.map((s) => s.state),
      ['received', 'tuning'],
    );
    assert.deepEqual(run.data.train, [paths.train]);
    assert.deepEqual(run.data.eval, [paths.eval]);
    assert.deepEqual(
      run.data.objects.map((o) => [o.name, o.generation]),
      events.map((e) => [e.name, e.generation]).sort(),
    );
    assert.equal(run.study?.jobId, study.jobId);

    const messages = h.logs
      .filter((l) => l.stage === 'data-upload' && l.runId === runId)
      .map((l) => `${l.severity} ${l.message}`);
    assert.ok(
      messages.some((m) => /^INFO run created for 2 file/.test(m)),
      messages.join('\n'),
    );
    const validated = h.logs.find((l) => /^data validated/.test(l.message))!;
    assert.equal(validated.trainRows, TRAIN_CSV.trim().split('\n').length);
    assert.equal(validated.evalRows, EVAL_CSV.trim().split('\n').length);
    assert.equal(validated.badRows, 0);
    assert.ok(messages.some((m) => /^INFO tuning started: 20 trials, 5 in parallel/.test(m)));
    assert.deepEqual(finished(h, runId), [], 'a run in progress has not finished');
  });

  it('the files of one drop, delivered concurrently, start one run and one job', async () => {
    const h = harness();
    await Promise.all(drop(h.bucket).map((e) => onObjectFinalized(h.ctx, e)));
    assertOneTuningRun(h, 'of the two deliveries one moved the run on');
    assert.equal(h.logs.filter((l) => /^run created/.test(l.message)).length, 1);
    assert.equal(h.logs.filter((l) => /^tuning started/.test(l.message)).length, 1);
  });

  it('a drop of 100 files costs O(N) reads: only the delivery that created the run validates it', async () => {
    const h = harness();
    const rows = TRAIN_CSV.trim().split('\n');
    const files: Record<string, string> = { [paths.eval]: EVAL_CSV };
    for (let i = 0; i < 99; i++)
      files[`data/${MODEL}/train-${String(i).padStart(3, '0')}.csv`] =
        rows.slice(i * 4, i * 4 + 4).join('\n') + '\n';
    const events = drop(h.bucket, files);
    await Promise.all(events.map((e) => onObjectFinalized(h.ctx, e)));
    assertOneTuningRun(h, 'one run');
    // Each file is read once, by the one validation (no event re-reads the whole drop).
    const { runId } = onlyStudy(h.training);
    for (const name of Object.keys(files))
      assert.equal(h.bucket.readCount(layout.runInput(runId, name)), 1, name);
    assert.equal(onlyStudy(h.training).trainData.length, 99);
  });

  it('redelivery of an event acts once: no second job, nothing written', async () => {
    const h = harness();
    const [train] = drop(h.bucket);
    await onObjectFinalized(h.ctx, train);
    const before = snapshot(h.bucket);
    const submissions = h.training.submissionCount();
    await onObjectFinalized(h.ctx, train);
    await onObjectFinalized(h.ctx, train);
    assert.equal(h.training.submissionCount(), submissions, 'no resubmission at all');
    assert.deepEqual(snapshot(h.bucket), before, 'no object written');
    assert.ok(
      h.logs.some(
        (l) =>
          l.severity === 'DEBUG' && /duplicate delivery: run is already tuning/.test(l.message),
      ),
    );
  });

  it('the same drop names the same run; a changed file is new data and a new run', async () => {
    const a = harness();
    const b = harness();
    for (const e of drop(a.bucket)) await onObjectFinalized(a.ctx, e);
    for (const e of drop(b.bucket)) await onObjectFinalized(b.ctx, e);
    const runA = onlyStudy(a.training).runId;
    assert.equal(onlyStudy(b.training).runId, runA, 'names and generations determine the run id');

    const [again] = drop(a.bucket, { [paths.train]: TRAIN_CSV }); // a new generation of train.csv
    await onObjectFinalized(a.ctx, again);
    const runIds = [...a.training.studies.values()].map((s) => s.runId);
    assert.equal(runIds.length, 2);
    assert.notEqual(runIds[1], runA);
    assert.equal(runOf(a.bucket, runIds[1])?.state, 'tuning');
  });

  it('malformed or foreign object events are ignored without an error', async () => {
    const h = harness();
    h.bucket.put(paths.train, TRAIN_CSV);
    h.bucket.put(paths.eval, EVAL_CSV);
    const before = snapshot(h.bucket);
    const events: unknown[] = [
      { bucket: 'memory' }, // no name
      { bucket: 'memory', name: '' },
      { bucket: 'memory', name: 42 },
      { bucket: 'memory', name: 'data/babyweight/notes.txt' },
      { bucket: 'memory', name: 'data/babyweight/sub/train.csv' },
      { bucket: 'memory', name: 'data/train.csv' },
      { bucket: 'memory', name: 'runs/babyweight-0123456789ab/run.json' },
      { bucket: 'memory', name: 'data/-bad/train.csv' },
      { bucket: 'memory', name: 'predict/babyweight/sub/x.csv' },
      { bucket: 'memory', name: 'elsewhere/a\\b.txt' },
    ];
    // Names no adapter can read (the bucket would refuse them on every redelivery): a WARNING
    // when they are in a folder of ours.
    const refused = ['data/../data/babyweight/train.csv', 'predict/babyweight/a\\b.csv'];
    for (const e of [...events, ...refused.map((name) => ({ bucket: 'memory', name }))])
      await onObjectFinalized(h.ctx, e as StorageObjectData);
    assert.equal(h.training.submissionCount(), 0);
    assert.deepEqual(snapshot(h.bucket), before);
    const ignored = (severity: string) =>
      h.logs.filter((l) => l.severity === severity && /^ignored /.test(l.message));
    assert.equal(ignored('DEBUG').length, events.length);
    assert.deepEqual(
      ignored('WARNING').map((l) => l.message.split(':')[0]),
      refused.map((n) => `ignored ${JSON.stringify(n)}`),
    );
  });

  it('a drop without evaluation files holds out 1 in 5 training rows, once however often it is delivered', async () => {
    const h = harness();
    const [train] = drop(h.bucket, { [paths.train]: TRAIN_CSV });
    await onObjectFinalized(h.ctx, train);
    await onObjectFinalized(h.ctx, train); // redelivered
    const study = onlyStudy(h.training);
    const part = (p: 'train' | 'eval') => layout.runSplitPart(study.runId, paths.train, p);
    assert.deepEqual(study.trainData, [part('train')]);
    assert.deepEqual(study.evalData, [part('eval')]);
    const run = runOf(h.bucket, study.runId)!;
    assert.deepEqual(run.data.eval, [], 'lineage: nothing was dropped as evaluation data');
    // babyweight's files have no header: every line is a row, in exactly one part, and each
    // part starts with the spec's column names.
    const rows = TRAIN_CSV.trimEnd().split('\n');
    const parts = (['train', 'eval'] as const).map((p) => {
      const [header, ...lines] = h.bucket.text(part(p))!.trimEnd().split('\n');
      assert.equal(header, BUILTIN_SPECS.babyweight.columns.join(','));
      return lines;
    });
    assert.deepEqual([...parts[0], ...parts[1]].sort(), rows.sort());
    assert.deepEqual(run.data.heldOut, {
      every: HELD_OUT_EVERY,
      withRows: { train: [paths.train], eval: [paths.train] },
      rows: { train: parts[0].length, eval: parts[1].length },
    });
    const share = parts[1].length / rows.length;
    assert.ok(share > 0.12 && share < 0.28, `held out ${share}`);
    assert.ok(
      h.logs.some((l) => l.severity === 'INFO' && /^no evaluation file in data\//.test(l.message)),
      'the run says so',
    );
    assert.ok(
      h.logs.some(
        (l) =>
          /^data validated: \d+ training and \d+ evaluation rows/.test(l.message) &&
          l.evalRows === parts[1].length,
      ),
      'validation reads the held-out part as evaluation data',
    );
  });

  it('a drop to split: a bad row that starts a part is one unusable row, as it is with an evaluation file', async () => {
    const good = TRAIN_CSV.trimEnd().split('\n');
    // A first row that is trained on, then a short row that is held out: it starts its part.
    assert.ok(!(await heldOut(good[0])), 'the first row is trained on');
    const candidates = Array.from({ length: 50 }, (_, i) => `7.5,True,26,Single(1)${i},39`);
    const sides = await Promise.all(candidates.map(heldOut));
    const bad = candidates[sides.indexOf(true)];
    const text = [good[0], bad, ...good.slice(1)].join('\n') + '\n';
    for (const files of [
      { [paths.train]: text, [paths.eval]: EVAL_CSV },
      { [paths.train]: text },
    ]) {
      const h = harness();
      for (const e of drop(h.bucket, files)) await onObjectFinalized(h.ctx, e);
      const study = onlyStudy(h.training);
      assert.equal(runOf(h.bucket, study.runId)?.state, 'tuning');
      assert.ok(
        h.logs.some((l) => /^data validated: .*, 1 unusable/.test(l.message)),
        Object.keys(files).join(' '),
      );
    }
  });

  it('a drop to split: a small file that falls wholly on one side adds no empty part', async () => {
    const small = [];
    for (const row of EVAL_CSV.trimEnd().split('\n'))
      if (small.length < 3 && !(await heldOut(row))) small.push(row);
    const extra = `data/${MODEL}/extra.csv`;
    const h = harness();
    for (const e of drop(h.bucket, { [paths.train]: TRAIN_CSV, [extra]: small.join('\n') + '\n' }))
      await onObjectFinalized(h.ctx, e);
    const study = onlyStudy(h.training);
    const part = (file: string, p: 'train' | 'eval') => layout.runSplitPart(study.runId, file, p);
    assert.deepEqual(study.trainData, [part(extra, 'train'), part(paths.train, 'train')]);
    assert.deepEqual(study.evalData, [part(paths.train, 'eval')]);
    const run = runOf(h.bucket, study.runId)!;
    assert.equal(run.state, 'tuning');
    assert.deepEqual(run.data.heldOut?.withRows, {
      train: [extra, paths.train],
      eval: [paths.train],
    });
  });

  it("a drop to split with an unclosed quote fails with the reader's reason, and starts no study", async () => {
    const h = harness();
    const broken = TRAIN_CSV + '1.0,True,"unclosed\n' + TRAIN_CSV.repeat(800);
    const [train] = drop(h.bucket, { [paths.train]: broken });
    await onObjectFinalized(h.ctx, train);
    const error = failedRunError(h);
    assert.match(
      error.message,
      /a record longer than 16 MB starts at line 401 \(an unclosed quote\?\)/,
    );
    assert.equal(error.line, 401);
  });

  it('a drop too small to hold out rows from fails with the reason, and starts no study', async () => {
    const h = harness();
    const [train] = drop(h.bucket, {
      [paths.train]: TRAIN_CSV.split('\n').slice(0, 2).join('\n') + '\n',
    });
    await onObjectFinalized(h.ctx, train);
    assert.match(
      failedRunError(h).message,
      /^data\/babyweight\/train\.csv: 2 row\(s\) are too few to hold out 1 in 5 for evaluation \(\d held out, \d left to train on\); drop more rows, or an evaluation file/,
    );
  });

  it('waits for training data: evaluation CSVs alone start no run', async () => {
    const h = harness();
    const [evalFile] = drop(h.bucket, { [`data/${MODEL}/babyweight-valid.csv`]: EVAL_CSV });
    await onObjectFinalized(h.ctx, evalFile);
    assert.equal(h.training.submissionCount(), 0);
    assert.deepEqual(runRecords(h.bucket), []);
    assert.ok(
      h.logs.some(
        (l) =>
          l.severity === 'INFO' &&
          /^waiting for data/.test(l.message) &&
          l.trainFiles === 0 &&
          l.evalFiles === 1,
      ),
    );
    const [train] = drop(h.bucket, { [paths.train]: TRAIN_CSV });
    await onObjectFinalized(h.ctx, train);
    const study = onlyStudy(h.training);
    assert.deepEqual(
      study.evalData,
      [layout.runInput(study.runId, `data/${MODEL}/babyweight-valid.csv`)],
      'valid in the name makes it evaluation data',
    );
    assert.deepEqual(study.trainData, [layout.runInput(study.runId, paths.train)]);
  });

  it('a run reads the generations it was created for: a file overwritten during the run changes nothing the run reads', async () => {
    const h = harness();
    const events = drop(h.bucket);
    for (const e of events) await onObjectFinalized(h.ctx, e);
    const study = onlyStudy(h.training);
    const run = runOf(h.bucket, study.runId)!;
    // The user overwrites eval.csv while the run tunes: a new generation, a new data version.
    h.bucket.put(paths.eval, 'weight_pounds,is_male,mother_age\n1,True,20\n');
    for (const name of [...study.trainData, ...study.evalData]) {
      const original = run.data.objects.find((o) => layout.runInput(run.runId, o.name) === name)!;
      assert.ok(original, `${name} is the run's copy of a dropped object`);
      const dropped = events.find((e) => e.name === original.name)!;
      assert.equal(dropped.generation, original.generation);
    }
    assert.equal(
      h.bucket.text(study.evalData[0]),
      EVAL_CSV,
      'the copy holds the generation the run was created for',
    );
  });

  it('a file that changes before the run could copy it fails the run, naming the file and both generations', async () => {
    const h = harness();
    const [train] = drop(h.bucket);
    const runId = runIdOf(
      MODEL,
      dataVersion(dropObjects(MODEL, await h.bucket.list(layout.dataPrefix(MODEL)))),
    );
    // Rewritten after the listing the run was created from, before the copy.
    h.bucket.beforeNextWrite(paths.run(runId), async () => {
      h.bucket.put(paths.eval, EVAL_CSV + EVAL_CSV);
    });
    await onObjectFinalized(h.ctx, train);
    assert.match(
      failedRunError(h).message,
      /data\/babyweight\/eval\.csv changed \(generation \d+ → \d+\) before the run could copy it/,
    );
  });

  it('waits until the drop has settled for settleMs before starting the run', async () => {
    const h = harness({ settleMs: 300 });
    h.bucket.put(paths.eval, EVAL_CSV);
    h.bucket.put(paths.train, TRAIN_CSV, 0); // just written
    const started = Date.now();
    await onObjectFinalized(h.ctx, { bucket: 'memory', name: paths.train });
    assert.ok(Date.now() - started >= 250, `started after ${Date.now() - started} ms`);
    assert.equal(h.training.submissionCount(), 1);
  });

  it('a study config in the bucket replaces the course study', async () => {
    const h = harness();
    h.bucket.put(paths.hyperparam, nembedsStudy('MINIMIZE', 'rmse', '["--train_examples=500"]'));
    for (const e of drop(h.bucket)) await onObjectFinalized(h.ctx, e);
    const study = onlyStudy(h.training);
    assert.equal(study.maxTrials, 3);
    assert.deepEqual(study.args, ['--ensemble=1', '--objective=rmse', '--train_examples=500']);
    assert.deepEqual(
      study.params.map((p) => p.name),
      ['nembeds'],
    );
  });

  it('a study tuning a metric the model does not report fails the run naming the field, and submits nothing', async () => {
    const h = harness();
    h.bucket.put(paths.hyperparam, nembedsStudy('MAXIMIZE', 'auc'));
    for (const e of drop(h.bucket)) await onObjectFinalized(h.ctx, e);
    assert.match(
      failedRunError(h).message,
      /hyperparameterMetricTag \(metricId\): the trainer reports rmse for a regression model, not "auc"/,
    );
  });

  it('rejected rows are kept in runs/<runId>/rejected-rows.csv with source, line, reason and the raw row, also when they fail the run', async () => {
    const bad = ['7.1,True,30,Nine,39,k1', '6.0,"Maybe, not",31,Single(1),40,k2'];
    const lines = TRAIN_CSV.trimEnd().split('\n');
    const h = harness();
    const dropped = drop(h.bucket, {
      [paths.train]: [...lines.slice(0, 10), ...bad, ...lines.slice(10)].join('\n') + '\n',
      [paths.eval]: EVAL_CSV,
    });
    for (const e of dropped) await onObjectFinalized(h.ctx, e);
    const { runId } = onlyStudy(h.training);
    const text = h.bucket.text(layout.rejectedRows(runId))!;
    const [header, ...rows] = text.trimEnd().split('\n');
    assert.equal(header, 'source,line,reason,row');
    assert.equal(rows.length, 2);
    assert.match(
      rows[0],
      /^data\/babyweight\/train\.csv,11,"plurality: ""Nine"" is not one of .*","7\.1,True,30,Nine,39,k1"$/,
    );
    assert.match(rows[1], /^data\/babyweight\/train\.csv,12,/);
    assert.match(rows[1], /Maybe, not/);
    const validated = h.logs.find((l) => /^data validated/.test(l.message))!;
    assert.equal(validated.rejectedRows, layout.rejectedRows(runId));

    // Over the bad-row limit: the run fails, and the rows are kept all the same.
    const failing = harness();
    const many = Array.from({ length: 40 }, (_, i) => `7.1,True,30,Nine,39,x${i}`);
    const events = drop(failing.bucket, {
      [paths.train]: [...lines, ...many].join('\n') + '\n',
      [paths.eval]: EVAL_CSV,
    });
    await onObjectFinalized(failing.ctx, events[0]);
    const [runName] = runRecords(failing.bucket);
    const failedRun = failing.bucket.json<{ runId: string; state: string }>(runName)!;
    assert.equal(failedRun.state, 'failed');
    const kept = failing.bucket.text(layout.rejectedRows(failedRun.runId))!;
    assert.equal(kept.trimEnd().split('\n').length, 41);
  });

  it('a 4 MB field is cut in every reason: the run record, its events and the rejected rows stay small', async () => {
    const huge = 'x'.repeat(4_000_000);
    const lines = TRAIN_CSV.trimEnd().split('\n');
    for (const bad of [
      `7.1,True,"${huge}"oops,Single(1),39,k`, // a CSV syntax error naming the field
      `7.1,True,30,${huge},39,k`, // a value outside the vocabulary, in a bad row
    ]) {
      const h = harness();
      const events = drop(h.bucket, {
        [paths.train]: [...lines.slice(0, 5), bad, ...lines.slice(5)].join('\n') + '\n',
        [paths.eval]: EVAL_CSV,
      });
      await onObjectFinalized(h.ctx, events[0]);
      const [runName] = runRecords(h.bucket);
      assert.ok(
        h.bucket.text(runName)!.length < 20_000,
        `run.json is ${h.bucket.text(runName)!.length} bytes`,
      );
      const longest = Math.max(...h.logs.map((l) => JSON.stringify(l).length));
      assert.ok(longest < 20_000, `the longest event is ${longest} bytes`);
      const runId = runName.split('/')[1];
      const rejected = h.bucket.text(layout.rejectedRows(runId));
      if (rejected)
        assert.ok(rejected.length < 5_000, `rejected-rows.csv is ${rejected.length} bytes`);
      for (const e of finished(h, runId)) assert.ok(e.reason.length < 5_000);
    }
  });

  it('rows without a label are skipped and counted, not invalid: a drop with 30% of them is tuned', async () => {
    const h = harness();
    const lines = TRAIN_CSV.trimEnd().split('\n');
    const unlabelled = lines.map((l, i) => (i % 10 < 3 ? l.replace(/^[^,]*/, '') : l));
    for (const e of drop(h.bucket, {
      [paths.train]: unlabelled.join('\n') + '\n',
      [paths.eval]: EVAL_CSV,
    }))
      await onObjectFinalized(h.ctx, e);
    assertOneTuningRun(h);
    const validated = h.logs.find((l) => /^data validated/.test(l.message))!;
    const skipped = unlabelled.filter((l) => l.startsWith(',')).length;
    assert.equal(validated.unlabelledRows, skipped);
    assert.equal(validated.badRows, 0);
    assert.equal(validated.trainRows, lines.length - skipped);
    assert.match(validated.message, new RegExp(`${skipped} without a label skipped`));
  });

  it('bad data fails the run with an ERROR naming the file and line, submits nothing, and stays failed on redelivery', async () => {
    const h = harness();
    const events = drop(h.bucket, {
      [paths.train]: `5.1,True,30\n${TRAIN_CSV}`,
      [paths.eval]: EVAL_CSV,
    });
    await onObjectFinalized(h.ctx, events[0]);
    const error = failedRunError(h);
    assert.equal(error.stage, 'data-upload');
    assert.equal(error.file, paths.train);
    assert.equal(error.line, 1);
    assert.match(error.message, /expected 6 columns/);
    assert.ok(
      h.logs.some(
        (l) => l.severity === 'ERROR' && /^run failed: /.test(l.message) && l.file === paths.train,
      ),
    );
    const runId = runRecords(h.bucket)[0].split('/')[1];
    const outcome = finished(h, runId);
    assert.equal(outcome.length, 1);
    assert.equal(outcome[0].outcome, 'failed');
    assert.match(outcome[0].reason, /expected 6 columns/);

    const before = snapshot(h.bucket);
    for (const e of events) await onObjectFinalized(h.ctx, e);
    assert.deepEqual(snapshot(h.bucket), before);
    assert.equal(h.training.submissionCount(), 0);
    assert.equal(finished(h, runId).length, 1, 'one run.finished per run');
  });

  it('a run.finished lost to a failed publish is published when the event is redelivered', async () => {
    const h = harness();
    const events = drop(h.bucket, {
      [paths.train]: `5.1,True,30\n${TRAIN_CSV}`,
      [paths.eval]: EVAL_CSV,
    });
    h.messaging.failNextPublish();
    await assert.rejects(
      onObjectFinalized(h.ctx, events[0]),
      /publish failed/,
      'a failed publish is transient: the event is redelivered',
    );
    const runId = runRecords(h.bucket)[0].split('/')[1];
    assert.equal(runOf(h.bucket, runId)?.state, 'failed');
    await onObjectFinalized(h.ctx, events[0]); // the redelivery
    assert.equal(finished(h, runId).length, 1, 'the run ends with one run.finished');
  });

  it('a bad study config fails the run (a permanent failure: no throw, no job)', async () => {
    const h = harness();
    h.bucket.put(paths.hyperparam, 'trainingInput:\n  hyperparameters:\n    goal: SIDEWAYS\n');
    for (const e of drop(h.bucket)) await onObjectFinalized(h.ctx, e);
    assert.match(failedRunError(h).message, /hyperparameter spec/);
  });

  it('a transient failure throws (so the event is redelivered) and the redelivery completes the run', async () => {
    const h = harness();
    const [train] = drop(h.bucket);
    h.training.failNextSubmit(new Error('training backend unavailable'));
    await assert.rejects(onObjectFinalized(h.ctx, train), /training backend unavailable/);
    const [runName] = runRecords(h.bucket);
    assert.equal(h.bucket.json<{ state: string }>(runName)?.state, 'received');
    await onObjectFinalized(h.ctx, train);
    assert.equal(runOf(h.bucket, onlyStudy(h.training).runId)?.state, 'tuning');
  });

  it('a crash after the split, then redelivery: the held-out parts are counted, not written again', async () => {
    const h = harness();
    const [train] = drop(h.bucket, { [paths.train]: TRAIN_CSV });
    const point = 'data-upload:after-submit';
    await assert.rejects(onObjectFinalized(crashing(h.ctx, point), train), SimulatedCrash);
    const study = onlyStudy(h.training);
    const parts = [...study.trainData, ...study.evalData];
    const generations = await Promise.all(
      parts.map(async (p) => (await h.bucket.stat(p))?.generation),
    );
    await onObjectFinalized(h.ctx, train);
    assertOneTuningRun(h);
    assert.deepEqual(
      await Promise.all(parts.map(async (p) => (await h.bucket.stat(p))?.generation)),
      generations,
      'the same objects',
    );
    const validated = h.logs.filter((l) => /^data validated/.test(l.message));
    assert.equal(validated.length, 2, 'each delivery validated the parts');
    assert.equal(validated[1].evalRows, validated[0].evalRows);
  });

  for (const point of ['data-upload:after-run-created', 'data-upload:after-submit']) {
    it(`a crash at ${point}, then redelivery: one run, one job, tuning`, async () => {
      const h = harness();
      const [train] = drop(h.bucket);
      const dying = crashing(h.ctx, point);
      await assert.rejects(
        onObjectFinalized(dying, train),
        (err) => err instanceof SimulatedCrash && err.point === point,
      );
      const [runName] = runRecords(h.bucket);
      assert.equal(
        h.bucket.json<{ state: string }>(runName)?.state,
        'received',
        'the run was created and not advanced',
      );
      assert.equal(h.training.studies.size, point === 'data-upload:after-submit' ? 1 : 0);

      await onObjectFinalized(h.ctx, train); // the redelivery, in a fresh instance
      assertOneTuningRun(h);
      const started = h.logs.filter((l) => /^tuning started/.test(l.message));
      assert.equal(started.length, 1);
      assert.equal(
        started[0].newJob,
        point === 'data-upload:after-run-created',
        'after a crash after submitting, the job already existed',
      );
    });
  }
});
