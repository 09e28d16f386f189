import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layout, type RunRecord } from '@bucketml/contracts';
import { onJobEvent, onObjectFinalized } from '@bucketml/pipeline';
import { COURSE_HYPERPARAM_YAML, WARM_START_USE, type StudyIndex } from '@bucketml/tuning';
import * as fx from './fixtures.ts';

/** A second drop of the model (different rows, so a new run), through data-upload. */
async function secondDrop(h: fx.Harness): Promise<string> {
  const before = new Set(h.training.studies.keys());
  const files = {
    [fx.paths.train]: fx.babyweightCsv('train.csv', 300),
    [fx.paths.eval]: fx.EVAL_CSV,
  };
  for (const e of fx.drop(h.bucket, files)) await onObjectFinalized(h.ctx, e);
  const jobId = [...h.training.studies.keys()].find((k) => !before.has(k))!;
  return h.training.studies.get(jobId)!.runId;
}

/** A first run whose study finished and was analysed (so it is in the study index). */
async function firstRunAnalysed(h: fx.Harness): Promise<string> {
  const runId = await fx.toTuning(h);
  fx.finishStudy(h, runId);
  await onJobEvent(h.ctx, fx.studyCompleted(runId));
  await new Promise((r) => setTimeout(r, 5)); // the next run is created strictly later
  return runId;
}

const warmEvents = (h: fx.Harness, runId: string) =>
  h.logs
    .filter((l) => l.runId === runId && l.message.startsWith('warm start'))
    .map((l) => l.message);

describe('warm start through the stages', () => {
  it("seeds a second run's study with the first run's succeeded trials and says so", async () => {
    const h = fx.harness();
    const first = await firstRunAnalysed(h);
    assert.deepEqual(warmEvents(h, first), ['warm start: none (no earlier study)']);
    const index = h.bucket.json<StudyIndex>(layout.studyIndex(fx.MODEL))!;
    assert.deepEqual(
      index.studies.map((s) => [s.runId, s.metricTag, s.trials.map((t) => t.trialId)]),
      [[first, 'rmse', ['2', '1']]], // succeeded only, best first
    );

    const second = await secondDrop(h);
    assert.notEqual(second, first);
    const request = h.training.studies.get(`${second}-study`)!;
    assert.deepEqual(request.warmStartFrom?.runs, [first]);
    assert.deepEqual(
      request.warmStartFrom?.trials.map((t) => [t.runId, t.trialId, t.objective]),
      [
        [first, '2', 1.08],
        [first, '1', 1.21],
      ],
    );
    assert.deepEqual(warmEvents(h, second), [
      `warm start: 2 trial(s) from run(s) ${first} (${WARM_START_USE})`,
    ]);
    const run = fx.runOf(h.bucket, second) as RunRecord;
    assert.deepEqual(run.study?.warmStart, { runs: [first], trials: 2 });

    fx.finishStudy(h, second);
    await onJobEvent(h.ctx, fx.studyCompleted(second));
    const report = h.bucket.json<{ warmStart: unknown }>(layout.report(second))!;
    assert.deepEqual(report.warmStart, { runs: [first], trials: 2 });
  });

  it('adds a study to the index once, however often its completion is delivered', async () => {
    const h = fx.harness();
    const first = await firstRunAnalysed(h);
    const once = fx.snapshot(h.bucket)[layout.studyIndex(fx.MODEL)];
    // A redelivery while the run still awaits its study event (e.g. after a crash).
    await h.ctx.runs.advance(first, ['final-training'], 'tuning');
    await onJobEvent(h.ctx, fx.studyCompleted(first));
    assert.equal(fx.snapshot(h.bucket)[layout.studyIndex(fx.MODEL)], once);
  });

  it('starts cold when hyperparam.yaml says warmStart: false', async () => {
    const h = fx.harness();
    await firstRunAnalysed(h);
    h.bucket.put(
      layout.hyperparamConfig(fx.MODEL),
      // The course's study, four trials, with warm start off.
      COURSE_HYPERPARAM_YAML.replace('maxTrials: 20', 'maxTrials: 4').replace(
        '    maxParallelTrials: 5\n',
        '    maxParallelTrials: 2\n    warmStart: false\n',
      ),
    );
    const second = await secondDrop(h);
    assert.equal(h.training.studies.get(`${second}-study`)!.warmStartFrom, undefined);
    assert.deepEqual(warmEvents(h, second), ['warm start: none (turned off (warmStart: false))']);
  });

  it('starts cold, saying why, on a backend that cannot seed a study (Vertex AI)', async () => {
    const h = fx.harness();
    await firstRunAnalysed(h);
    Object.defineProperty(h.training, 'supportsWarmStart', { value: false });
    const second = await secondDrop(h);
    assert.equal(h.training.studies.get(`${second}-study`)!.warmStartFrom, undefined);
    assert.match(warmEvents(h, second)[0], /^warm start: none \(this training backend cannot/);
  });
});
