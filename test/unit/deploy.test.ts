import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { layout, type RunRecord, type ServingPointer } from '@bucketml/contracts';
import { deliverPubSub, onModelCandidate } from '@bucketml/pipeline';
import { PreconditionFailedError } from '@bucketml/ports';
import {
  crashing,
  deployVersion,
  EVAL_CSV,
  finished,
  harness,
  MODEL,
  modelDirOf,
  onlyTraining,
  paths,
  pubsubPush,
  runOf,
  SimulatedCrash,
  snapshot,
  toFinalTraining,
  toGating,
  TRAIN_CSV,
  trainedModels,
  writeModel,
  type Harness,
  type ModelFiles,
} from './fixtures.ts';

const OLD = 'babyweight-000000000001';
const RIVAL = 'babyweight-000000000002';
const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-4;

/** Stage 3: the validation gate and the compare-and-swap of the serving pointer. */
describe('deploy: onModelCandidate', () => {
  let good: ModelFiles;
  let poor: ModelFiles;
  before(async () => void ({ good, poor } = await trainedModels()));

  const pointerOf = (h: Harness) => h.bucket.json<ServingPointer>(paths.pointer);

  /** Delivers the candidate to a deploy that "dies" (throws SimulatedCrash) at `point`. */
  const crashAt = (h: Harness, point: string, event: Parameters<typeof onModelCandidate>[1]) =>
    assert.rejects(onModelCandidate(crashing(h.ctx, point), event), SimulatedCrash);

  /** The run's version is deployed exactly once: its files are the candidate's, the pointer names it. */
  function assertDeployed(h: Harness, runId: string, candidate: ModelFiles, others: string[] = []) {
    const prefix = paths.versionPrefix(runId);
    assert.deepEqual(
      h.bucket.names('models/'),
      [
        ...others.flatMap((v) => [
          `${paths.versionPrefix(v)}model.json`,
          `${paths.versionPrefix(v)}weights.bin`,
        ]),
        `${prefix}model.json`,
        `${prefix}weights.bin`,
        paths.history,
        paths.modelsPage,
        paths.modelsPageData,
        paths.pointer,
      ].sort(),
    );
    assert.ok(
      h.bucket.bytes(`${prefix}model.json`)?.equals(candidate.modelJson),
      "model.json is the candidate's",
    );
    assert.ok(
      h.bucket.bytes(`${prefix}weights.bin`)?.equals(candidate.weightsBin),
      "weights.bin is the candidate's",
    );
    const pointer = pointerOf(h)!;
    assert.equal(pointer.version, runId);
    assert.equal(pointer.prefix, prefix);
    assert.equal(pointer.runId, runId);
    const run = runOf(h.bucket, runId)!;
    assert.equal(run.state, 'deployed');
    assert.equal(run.version, runId);
    assert.equal(run.decision?.deployed, true);
    assert.deepEqual(
      finished(h, runId).map((e) => [e.outcome, e.version]),
      [['deployed', runId]],
    );
    return { pointer, run };
  }

  it('with nothing serving, the candidate is deployed: files copied, pointer created, run deployed', async () => {
    const h = harness();
    const { runId, event } = await toGating(h, good);
    await onModelCandidate(h.ctx, event);
    const { pointer, run } = assertDeployed(h, runId, good);
    assert.ok(
      close(pointer.value, good.rmse),
      `the gate's RMSE (lean predictor) ${pointer.value} matches training's ${good.rmse}`,
    );
    assert.equal(pointer.previousVersion, undefined);
    assert.equal(run.decision?.reason, 'no model was serving');
    assert.equal(run.decision?.servingVersion, undefined);
    const notice = h.logs.filter((l) => l.severity === 'NOTICE' && l.stage === 'deploy');
    assert.deepEqual(
      notice.map((l) => l.message),
      [`deployed version ${runId}: no model was serving`],
    );
  });

  it('a better candidate replaces the serving version, recording both figures', async () => {
    const h = harness();
    await deployVersion(h.bucket, OLD, poor);
    const { runId, event } = await toGating(h, good);
    await onModelCandidate(h.ctx, event);
    const { pointer, run } = assertDeployed(h, runId, good, [OLD]);
    assert.equal(pointer.previousVersion, OLD);
    assert.equal(run.decision?.servingVersion, OLD);
    assert.ok(close(run.decision?.servingValue, poor.rmse));
    assert.ok(close(run.decision?.candidateValue, good.rmse));
    assert.match(
      run.decision!.reason,
      new RegExp(`is not worse than version ${OLD}'s \\d\\.\\d{4}`),
    );
  });

  it('the serving version is compared on the eval rows it did not train on, and the decision says how many were left out', async () => {
    const h = harness();
    await deployVersion(h.bucket, OLD, good);
    // OLD's run trained on half of the rows this run evaluates on (the same table, cut another way).
    const evalRows = EVAL_CSV.trimEnd().split('\n');
    const trainedOn = evalRows.slice(0, 80);
    const trainFile = `data/${MODEL}/old-train.csv`;
    await h.ctx.runs.create({
      runId: OLD,
      model: MODEL,
      data: { version: 'v', train: [trainFile], eval: [], objects: [], inputs: 'copies' },
    });
    h.bucket.put(
      layout.runInput(OLD, trainFile),
      [...trainedOn, ...TRAIN_CSV.trimEnd().split('\n')].join('\n') + '\n',
    );
    const { runId, event } = await toGating(h, good);
    await onModelCandidate(h.ctx, event);
    const run = runOf(h.bucket, runId)!;
    assert.equal(run.state, 'deployed', 'an equal model on fair rows');
    assert.equal(run.decision?.evalRowsLeftOut, 80);
    assert.equal(run.decision?.evalRows, evalRows.length - 80);
    assert.match(run.decision!.reason, /on 120 eval rows \(80 it trained on left out\)/);
    assert.ok(
      h.logs.some((l) =>
        /^80 of 200 evaluation rows were in serving version babyweight-000000000001's training data: both versions are compared on the other 120$/.test(
          l.message,
        ),
      ),
    );
  });

  it('when the serving version trained on every eval row, both are compared on them all, with a WARNING', async () => {
    const h = harness();
    await deployVersion(h.bucket, OLD, good);
    const trainFile = `data/${MODEL}/old-train.csv`;
    await h.ctx.runs.create({
      runId: OLD,
      model: MODEL,
      data: { version: 'v', train: [trainFile], eval: [], objects: [], inputs: 'copies' },
    });
    h.bucket.put(layout.runInput(OLD, trainFile), EVAL_CSV);
    const { runId, event } = await toGating(h, good);
    await onModelCandidate(h.ctx, event);
    const run = runOf(h.bucket, runId)!;
    assert.equal(run.decision?.evalRows, 200);
    assert.equal(run.decision?.evalRowsLeftOut, undefined);
    assert.ok(
      h.logs.some(
        (l) =>
          l.severity === 'WARNING' &&
          /^all 200 evaluation rows were in serving version/.test(l.message),
      ),
    );
  });

  it('an equally good candidate is deployed (not worse)', async () => {
    const h = harness();
    await deployVersion(h.bucket, OLD, good);
    const { runId, event } = await toGating(h, good);
    await onModelCandidate(h.ctx, event);
    assertDeployed(h, runId, good, [OLD]);
  });

  it('a worse candidate is rejected with a WARNING giving both figures; the pointer does not move', async () => {
    const h = harness();
    await deployVersion(h.bucket, OLD, good);
    const pointerGeneration = h.bucket.generationOf(paths.pointer);
    const { runId, event } = await toGating(h, poor);
    await onModelCandidate(h.ctx, event);

    assert.equal(h.bucket.generationOf(paths.pointer), pointerGeneration);
    assert.equal(pointerOf(h)?.version, OLD);
    assert.deepEqual(h.bucket.names(paths.versionPrefix(runId)), [], 'nothing copied');
    const run = runOf(h.bucket, runId)!;
    assert.equal(run.state, 'rejected');
    assert.equal(run.version, undefined);
    assert.deepEqual([run.decision?.deployed, run.decision?.servingVersion], [false, OLD]);
    assert.ok(
      close(run.decision?.candidateValue, poor.rmse) &&
        close(run.decision?.servingValue, good.rmse),
    );
    const warning = h.logs.find(
      (l) => l.severity === 'WARNING' && /^candidate rejected: /.test(l.message),
    )!;
    assert.ok(warning, 'a WARNING');
    assert.ok(
      close(warning.candidateValue as number, poor.rmse) &&
        close(warning.servingValue as number, good.rmse),
    );
    const [outcome, ...more] = finished(h, runId);
    assert.equal(more.length, 0);
    assert.deepEqual([outcome.outcome, outcome.version], ['rejected', undefined]);
    assert.ok(close(outcome.candidateValue, poor.rmse) && close(outcome.servingValue, good.rmse));
  });

  it("a forged candidate event's figures and fields count for nothing: the gate measures the run's own final model", async () => {
    const h = harness();
    await deployVersion(h.bucket, OLD, good);
    const { runId, event } = await toGating(h, poor);
    // Claims a far better value and names another model directory.
    const forged = { ...event, value: 0.0001, modelDir: `models/${MODEL}/${OLD}/` } as typeof event;
    await onModelCandidate(h.ctx, forged);
    const run = runOf(h.bucket, runId)!;
    assert.equal(run.state, 'rejected');
    assert.ok(close(run.decision?.candidateValue, poor.rmse), `${run.decision?.candidateValue}`);
    assert.equal(pointerOf(h)?.version, OLD);
  });

  it('redelivery after a deployment acts once: nothing written, no second run.finished', async () => {
    const h = harness();
    const { runId, event } = await toGating(h, good);
    await onModelCandidate(h.ctx, event);
    const before = snapshot(h.bucket);
    await onModelCandidate(h.ctx, event);
    await onModelCandidate(h.ctx, event);
    assert.deepEqual(snapshot(h.bucket), before);
    assert.equal(finished(h, runId).length, 1);
    assert.equal(h.logs.filter((l) => l.severity === 'NOTICE').length, 1);
  });

  it('redelivery after a rejection acts once', async () => {
    const h = harness();
    await deployVersion(h.bucket, OLD, good);
    const { runId, event } = await toGating(h, poor);
    await onModelCandidate(h.ctx, event);
    const before = snapshot(h.bucket);
    await onModelCandidate(h.ctx, event);
    assert.deepEqual(snapshot(h.bucket), before);
    assert.equal(finished(h, runId).length, 1);
  });

  it('a crash at deploy:after-copy, then redelivery: one deployment, pointer names the version', async () => {
    const h = harness();
    await deployVersion(h.bucket, OLD, poor);
    const { runId, event } = await toGating(h, good);
    await crashAt(h, 'deploy:after-copy', event);
    assert.equal(pointerOf(h)?.version, OLD, 'the pointer has not moved');
    assert.equal(h.bucket.names(paths.versionPrefix(runId)).length, 2, 'the files were copied');
    assert.equal(runOf(h.bucket, runId)?.state, 'gating');

    await onModelCandidate(h.ctx, event);
    const { pointer } = assertDeployed(h, runId, good, [OLD]);
    assert.equal(pointer.previousVersion, OLD);
  });

  it('a crash at deploy:after-swap, then redelivery: the pointer already names the version; the outcome is recorded, nothing rewritten', async () => {
    const h = harness();
    const { runId, event } = await toGating(h, good);
    await crashAt(h, 'deploy:after-swap', event);
    assert.equal(pointerOf(h)?.version, runId, 'the swap happened');
    assert.equal(runOf(h.bucket, runId)?.state, 'gating', 'but was not recorded');
    assert.equal(finished(h, runId).length, 0);
    const pointerGeneration = h.bucket.generationOf(paths.pointer);
    const modelWrites = h.bucket.writeCount(`${paths.versionPrefix(runId)}model.json`);

    await onModelCandidate(h.ctx, event);
    assertDeployed(h, runId, good);
    assert.equal(
      h.bucket.generationOf(paths.pointer),
      pointerGeneration,
      'the pointer is not rewritten',
    );
    assert.equal(
      h.bucket.writeCount(`${paths.versionPrefix(runId)}model.json`),
      modelWrites,
      'the model is not copied again',
    );
    assert.equal(runOf(h.bucket, runId)?.decision?.reason, 'no model was serving');
  });

  it('after a crash at deploy:after-swap, the recorded decision keeps the serving figures an uninterrupted deploy records', async () => {
    const h = harness();
    await deployVersion(h.bucket, OLD, poor);
    const { runId, event } = await toGating(h, good);
    await crashAt(h, 'deploy:after-swap', event);
    await onModelCandidate(h.ctx, event);
    const run = assertDeployed(h, runId, good, [OLD]).run;
    assert.equal(run.decision?.servingVersion, OLD);
    assert.ok(
      close(run.decision?.servingValue, poor.rmse),
      `servingValue ${run.decision?.servingValue}`,
    );
    assert.doesNotMatch(run.decision!.reason, /\?/);
  });

  it('a concurrent deploy (pointer changed between read and swap) fails the swap; the redelivery re-gates against the new version', async () => {
    const h = harness();
    await deployVersion(h.bucket, OLD, poor);
    const { runId, event } = await toGating(h, poor); // as good as OLD: it passes the first gate
    // Another deployment of a better model wins the race just before our swap.
    h.bucket.beforeNextWrite(
      paths.pointer,
      async () => void (await deployVersion(h.bucket, RIVAL, good)),
    );
    await assert.rejects(onModelCandidate(h.ctx, event), PreconditionFailedError);
    assert.equal(pointerOf(h)?.version, RIVAL, 'the rival deployment stands');
    assert.equal(runOf(h.bucket, runId)?.state, 'gating', 'the run is still to be decided');
    assert.equal(finished(h, runId).length, 0);

    await onModelCandidate(h.ctx, event); // the redelivery
    const run = runOf(h.bucket, runId)!;
    assert.equal(run.state, 'rejected', 'compared again, now against the better rival');
    assert.equal(run.decision?.servingVersion, RIVAL);
    assert.ok(close(run.decision?.servingValue, good.rmse));
    assert.equal(pointerOf(h)?.version, RIVAL);
    assert.deepEqual(
      finished(h, runId).map((e) => e.outcome),
      ['rejected'],
    );
  });

  it('a concurrent deploy of a worse model: the redelivery deploys over it', async () => {
    const h = harness();
    const { runId, event } = await toGating(h, good);
    h.bucket.beforeNextWrite(
      paths.pointer,
      async () => void (await deployVersion(h.bucket, RIVAL, poor)),
    );
    await assert.rejects(onModelCandidate(h.ctx, event), PreconditionFailedError);
    await onModelCandidate(h.ctx, event);
    const { pointer } = assertDeployed(h, runId, good, [RIVAL]);
    assert.equal(pointer.previousVersion, RIVAL);
  });

  it('a serving model that cannot be evaluated cannot compete: the candidate is deployed, with a WARNING', async () => {
    const h = harness();
    await deployVersion(h.bucket, OLD, good);
    await h.bucket.write(`${paths.versionPrefix(OLD)}weights.bin`, poor.weightsBin); // no longer matches its model.json
    const { runId, event } = await toGating(h, poor);
    await onModelCandidate(h.ctx, event);
    assert.equal(runOf(h.bucket, runId)?.state, 'deployed');
    assert.equal(pointerOf(h)?.version, runId);
    assert.ok(
      h.logs.some(
        (l) =>
          l.severity === 'WARNING' &&
          new RegExp(`serving version ${OLD} cannot be evaluated`).test(l.message),
      ),
    );
  });

  it('a candidate published before the run recorded gating (run still final-training) is gated', async () => {
    const h = harness();
    const runId = await toFinalTraining(h);
    await writeModel(h.bucket, modelDirOf(onlyTraining(h.training)), good);
    await onModelCandidate(h.ctx, {
      type: 'model.candidate',
      runId,
      model: MODEL,
      metric: 'rmse',
      value: good.rmse,
    });
    assertDeployed(h, runId, good);
  });

  it('an incomplete candidate model is a transient error: thrown, run still gating', async () => {
    const h = harness();
    const { runId, event } = await toGating(h, good);
    h.bucket.delete(`${modelDirOf(onlyTraining(h.training))}model.json`);
    await assert.rejects(onModelCandidate(h.ctx, event), /incomplete/);
    assert.equal(runOf(h.bucket, runId)?.state, 'gating');
    assert.equal(h.bucket.json(paths.pointer), undefined);
  });

  it('a candidate for an unknown run is ignored', async () => {
    const h = harness();
    await onModelCandidate(h.ctx, {
      type: 'model.candidate',
      runId: 'babyweight-00000000abcd',
      model: MODEL,
      metric: 'rmse',
      value: 1,
    });
    assert.deepEqual(h.bucket.names(), []);
    assert.ok(
      h.logs.some(
        (l) => l.severity === 'DEBUG' && /candidate ignored: run is unknown/.test(l.message),
      ),
    );
  });

  it('malformed candidate events are logged as ERROR and acknowledged: no throw, no effect', async () => {
    const h = harness();
    const { runId, event } = await toGating(h, good);
    const bad: unknown[] = [
      null,
      { message: { data: 42 } },
      pubsubPush('{'),
      pubsubPush({ ...event, value: undefined }),
      pubsubPush({ ...event, value: 'low' }),
      pubsubPush({ ...event, value: null }),
      pubsubPush({ ...event, metric: 7 }),
      pubsubPush({ ...event, runId: `${MODEL}-../../x` }),
      pubsubPush({ ...event, model: 'taxifare' }),
      pubsubPush({
        type: 'training.completed',
        runId,
        model: MODEL,
        jobId: `${runId}-final`,
        state: 'SUCCEEDED',
      }),
    ];
    const before = snapshot(h.bucket);
    for (const data of bad)
      await deliverPubSub(h.ctx, 'deploy', data, ['model.candidate'], (e) =>
        onModelCandidate(h.ctx, e),
      );
    assert.equal(
      h.logs.filter((l) => l.severity === 'ERROR' && /^dropped an invalid event/.test(l.message))
        .length,
      bad.length,
    );
    assert.deepEqual(snapshot(h.bucket), before);
    assert.equal(runOf(h.bucket, runId)?.state, 'gating');

    await deliverPubSub(h.ctx, 'deploy', pubsubPush(event), ['model.candidate'], (e) =>
      onModelCandidate(h.ctx, e),
    );
    assert.equal(runOf(h.bucket, runId)?.state, 'deployed', 'a well-formed push is handled');
  });

  it('a run.finished lost to a failed publish is published by the redelivery, once', async () => {
    const h = harness();
    const { runId, event } = await toGating(h, good);
    h.messaging.failNextPublish();
    await assert.rejects(onModelCandidate(h.ctx, event), /publish failed/);
    assert.equal(runOf(h.bucket, runId)?.state, 'deployed');
    await onModelCandidate(h.ctx, event);
    await onModelCandidate(h.ctx, event);
    assert.equal(finished(h, runId).length, 1);
    assert.equal((runOf(h.bucket, runId) as RunRecord).finishedPublished, true);
  });
});
