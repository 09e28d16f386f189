import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { JobEvent, ModelCandidateEvent, ServingPointer } from '@bucketml/contracts';
import {
  deliverPubSub,
  onJobEvent,
  onModelCandidate,
  onObjectFinalized,
  type PipelineContext,
} from '@bucketml/pipeline';
import {
  crashing,
  deployVersion,
  drop,
  finished,
  finishStudy,
  harness,
  modelDirOf,
  onlyStudy,
  onlyTraining,
  paths,
  pubsubPush,
  runOf,
  SimulatedCrash,
  studyCompleted,
  TOPICS,
  trainedModels,
  trainingCompleted,
  writeModel,
  type Harness,
  type ModelFiles,
} from './fixtures.ts';

const CRASH_POINTS = [
  'data-upload:after-run-created',
  'data-upload:after-submit',
  'job-completed:after-report',
  'deploy:after-copy',
  'deploy:after-swap',
];
const OLD = 'babyweight-000000000001';

/** Delivers until the handler returns, as Pub/Sub and Eventarc redeliver after a function dies. */
async function deliver(handler: () => Promise<void>): Promise<number> {
  for (let attempt = 1; attempt <= 10; attempt++) {
    try {
      await handler();
      return attempt;
    } catch (err) {
      if (!(err instanceof SimulatedCrash)) throw err;
    }
  }
  throw new Error('still crashing after 10 deliveries');
}

/** One drop through every stage on the in-memory ports; `ctx` may crash. Returns the run id and deliveries made. */
async function runPipeline(h: Harness, ctx: PipelineContext, candidate: ModelFiles) {
  let deliveries = 0;
  for (const e of drop(h.bucket)) deliveries += await deliver(() => onObjectFinalized(ctx, e));
  const runId = onlyStudy(h.training).runId;
  finishStudy(h, runId);
  const jobEvents = (event: JobEvent) =>
    deliver(() =>
      deliverPubSub(
        ctx,
        'job-completed',
        pubsubPush(event),
        ['trial.completed', 'study.completed', 'training.completed'],
        (e) => onJobEvent(ctx, e),
      ),
    );
  deliveries += await jobEvents(studyCompleted(runId));
  await writeModel(h.bucket, modelDirOf(onlyTraining(h.training)), candidate); // the backend's final training
  deliveries += await jobEvents(trainingCompleted(runId));
  for (const event of h.messaging.take<ModelCandidateEvent>(TOPICS.modelCandidates)) {
    deliveries += await deliver(() =>
      deliverPubSub(ctx, 'deploy', pubsubPush(event), ['model.candidate'], (e) =>
        onModelCandidate(ctx, e),
      ),
    );
  }
  return { runId, deliveries };
}

describe('crash recovery: one run, a crash at every crash point', () => {
  let good: ModelFiles;
  let poor: ModelFiles;
  before(async () => void ({ good, poor } = await trainedModels()));

  for (const serving of [false, true]) {
    it(`crashing once at each of the ${CRASH_POINTS.length} points still ends with one study, one training, one deployment${serving ? ' (replacing a serving version)' : ''}`, async () => {
      const h = harness();
      if (serving) await deployVersion(h.bucket, OLD, poor);
      const dying = crashing(h.ctx, ...CRASH_POINTS);
      const { runId, deliveries } = await runPipeline(h, dying, good);

      for (const point of CRASH_POINTS)
        assert.ok(dying.reached.includes(point), `${point} was reached`);
      assert.equal(
        deliveries,
        2 + 1 + 1 + 1 + CRASH_POINTS.length,
        'each crash cost one redelivery',
      );

      assert.equal(h.training.studies.size, 1, 'one study job');
      assert.equal(h.training.trainings.size, 1, 'one final training job');
      const run = runOf(h.bucket, runId)!;
      assert.equal(run.state, 'deployed');
      assert.equal(run.version, runId);
      assert.deepEqual(
        run.history.map((s) => s.state),
        ['received', 'tuning', 'final-training', 'gating', 'deployed'],
      );
      const pointer = h.bucket.json<ServingPointer>(paths.pointer)!;
      assert.equal(pointer.version, runId);
      assert.equal(pointer.previousVersion, serving ? OLD : undefined);
      const versions = new Set(
        h.bucket
          .names('models/')
          .filter(
            (n) =>
              ![paths.pointer, paths.history, paths.modelsPage, paths.modelsPageData].includes(n),
          )
          .map((n) => n.split('/')[2]),
      );
      assert.deepEqual(
        [...versions].sort(),
        serving ? [OLD, runId] : [runId],
        'one new deployment',
      );
      assert.ok(
        h.bucket.bytes(`${paths.versionPrefix(runId)}model.json`)?.equals(good.modelJson),
        'a whole model',
      );
      assert.ok(
        h.bucket.bytes(`${paths.versionPrefix(runId)}weights.bin`)?.equals(good.weightsBin),
      );
      assert.deepEqual(
        finished(h, runId).map((e) => [e.outcome, e.version]),
        [['deployed', runId]],
        'one run.finished',
      );
    });
  }

  it('the crashed run ends as the uninterrupted one does', async () => {
    const calm = harness();
    const { runId } = await runPipeline(calm, calm.ctx, good);
    const crashed = harness();
    const result = await runPipeline(crashed, crashing(crashed.ctx, ...CRASH_POINTS), good);
    assert.equal(result.runId, runId, 'the same drop names the same run');
    const strip = (h: Harness) => {
      const {
        createdAt: _created,
        updatedAt: _updated,
        history,
        ...rest
      } = runOf(h.bucket, runId)!;
      return { ...rest, history: history.map((s) => s.state) };
    };
    assert.deepEqual(strip(crashed), strip(calm));
    assert.deepEqual(crashed.bucket.names(), calm.bucket.names(), 'the same objects');
    assert.deepEqual(
      crashed.training.trainings.get(`${runId}-final`),
      calm.training.trainings.get(`${runId}-final`),
      'the same final training',
    );
  });
});
