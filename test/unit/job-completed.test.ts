import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { layout, type ModelCandidateEvent } from '@bucketml/contracts';
import { deliverPubSub, onJobEvent } from '@bucketml/pipeline';
import * as fx from './fixtures.ts';

/** The run failed with `reason`, and said so in exactly one run.finished. */
function assertFailedOnce(h: fx.Harness, runId: string, reason: RegExp): void {
  const run = fx.runOf(h.bucket, runId)!;
  assert.equal(run.state, 'failed');
  assert.match(run.error!.message, reason);
  assert.deepEqual(
    fx.finished(h, runId).map((e) => e.outcome),
    ['failed'],
  );
}

/** Stage 2: trial and study completion → report and final training; training completion → candidate. */
describe('job-completed: onJobEvent', () => {
  let good: fx.ModelFiles;
  before(async () => void ({ good } = await fx.trainedModels()));

  describe('trial.completed', () => {
    it('logs one event per trial (WARNING when it failed) and changes nothing but the run page', async () => {
      const h = fx.harness();
      const runId = await fx.toTuning(h);
      const before = fx.snapshot(h.bucket);
      const base = {
        type: 'trial.completed' as const,
        runId,
        model: fx.MODEL,
        jobId: `${runId}-study`,
      };
      await onJobEvent(h.ctx, {
        ...base,
        trialId: '2',
        state: 'SUCCEEDED',
        parameters: { batch_size: 256 },
        objective: 1.08,
        seconds: 12,
      });
      await onJobEvent(h.ctx, {
        ...base,
        trialId: '3',
        state: 'FAILED',
        parameters: { batch_size: 8 },
        error: 'trainer exited with code 1',
      });
      const trials = h.logs.filter((l) => l.stage === 'trial');
      assert.deepEqual(
        trials.map((l) => [l.severity, l.message, l.trialId, l.runId]),
        [
          ['INFO', 'trial 2 succeeded: objective 1.0800', '2', runId],
          ['WARNING', 'trial 3 failed: trainer exited with code 1', '3', runId],
        ],
      );
      assert.equal(trials[1].error, 'trainer exited with code 1');
      const page = [`runs/${runId}/page.json`, `runs/${runId}/index.html`];
      const withoutPage = (s: Record<string, string>) =>
        Object.fromEntries(Object.entries(s).filter(([name]) => !page.includes(name)));
      assert.deepEqual(withoutPage(fx.snapshot(h.bucket)), withoutPage(before));
      for (const name of page)
        assert.notEqual(fx.snapshot(h.bucket)[name], before[name], `${name} rewritten`);
      assert.equal(fx.runOf(h.bucket, runId)?.state, 'tuning');
    });
  });

  describe('study.completed', () => {
    it('writes the sorted report and submits one final training with the best trial parameters', async () => {
      const h = fx.harness();
      const runId = await fx.toTuning(h);
      fx.finishStudy(h, runId);
      await onJobEvent(h.ctx, fx.studyCompleted(runId));

      const report = h.bucket.json<{
        best: { id: string; objective: number };
        trials: { id: string; rank?: number }[];
        succeeded: number;
        failed: number;
        stopped: number;
      }>(fx.paths.report(runId))!;
      assert.deepEqual(
        report.trials.map((t) => t.id),
        ['2', '1', '4', '3'],
        'succeeded best first, then stopped, then failed',
      );
      assert.deepEqual(
        report.trials.map((t) => t.rank),
        [1, 2, undefined, undefined],
      );
      assert.deepEqual([report.best.id, report.best.objective], ['2', 1.08]);
      assert.deepEqual([report.succeeded, report.stopped, report.failed], [2, 1, 1]);
      assert.match(h.bucket.text(fx.paths.reportText(runId))!, /best: trial 2, rmse 1\.08000/);

      const final = fx.onlyTraining(h.training);
      assert.equal(final.jobId, `${runId}-final`);
      assert.equal(final.runId, runId);
      assert.equal(final.model, fx.MODEL);
      assert.deepEqual(final.parameters, fx.TRIALS[1].parameters);
      assert.equal(final.outputDir, `runs/${runId}/final/`);
      assert.deepEqual(
        final.args,
        ['--objective=rmse', '--train_examples=25000'],
        "the study's finalArgs (default: its args), judged by the study's metric",
      );
      // The run's copies of its drop, as the trials read them.
      assert.deepEqual(final.trainData, [layout.runInput(runId, fx.paths.train)]);
      assert.deepEqual(final.evalData, [layout.runInput(runId, fx.paths.eval)]);
      assert.equal(final.seed, 42);

      const run = fx.runOf(h.bucket, runId)!;
      assert.equal(run.state, 'final-training');
      assert.deepEqual(run.best, {
        trialId: '2',
        objective: 1.08,
        parameters: fx.TRIALS[1].parameters,
      });
      assert.equal(run.final?.jobId, `${runId}-final`);
      assert.ok(
        h.logs.some(
          (l) =>
            l.severity === 'INFO' &&
            l.stage === 'analysis' &&
            /^trials analysed: best trial 2 \(rmse 1\.0800\); final training submitted/.test(
              l.message,
            ),
        ),
      );
    });

    it('redelivery acts once: no second training, no rewrite', async () => {
      const h = fx.harness();
      const runId = await fx.toFinalTraining(h);
      const before = fx.snapshot(h.bucket);
      await onJobEvent(h.ctx, fx.studyCompleted(runId));
      await onJobEvent(h.ctx, fx.studyCompleted(runId));
      assert.equal(h.training.submissionCount('training'), 1);
      assert.deepEqual(fx.snapshot(h.bucket), before);
      assert.ok(
        h.logs.some(
          (l) =>
            l.severity === 'DEBUG' && /study event ignored: run is final-training/.test(l.message),
        ),
      );
    });

    it('a crash at job-completed:after-report, then redelivery: one final training, run final-training', async () => {
      const h = fx.harness();
      const runId = await fx.toTuning(h);
      fx.finishStudy(h, runId);
      const dying = fx.crashing(h.ctx, 'job-completed:after-report');
      await assert.rejects(onJobEvent(dying, fx.studyCompleted(runId)), fx.SimulatedCrash);
      assert.ok(h.bucket.json(fx.paths.report(runId)), 'the report was written');
      assert.equal(h.training.submissionCount('training'), 0);
      assert.equal(fx.runOf(h.bucket, runId)?.state, 'tuning');

      await onJobEvent(h.ctx, fx.studyCompleted(runId));
      assert.equal(h.training.trainings.size, 1);
      assert.equal(h.training.submissionCount('training'), 1);
      assert.equal(fx.runOf(h.bucket, runId)?.state, 'final-training');
    });

    it('asks the backend, not the event: a study the backend reports running is not ended', async () => {
      const h = fx.harness();
      const runId = await fx.toTuning(h); // the fake backend reports the study RUNNING, without trials
      await onJobEvent(h.ctx, fx.studyCompleted(runId));
      assert.equal(fx.runOf(h.bucket, runId)?.state, 'tuning');
      assert.equal(h.bucket.json(fx.paths.report(runId)), undefined);
      assert.equal(h.training.submissionCount('training'), 0);
      assert.ok(h.logs.some((l) => l.severity === 'WARNING' && /RUNNING/.test(l.message)));
    });

    it('a study event naming another job than the run’s study is ignored', async () => {
      const h = fx.harness();
      const runId = await fx.toTuning(h);
      fx.finishStudy(h, runId);
      await onJobEvent(h.ctx, { ...fx.studyCompleted(runId), jobId: `${runId}-final` });
      assert.equal(fx.runOf(h.bucket, runId)?.state, 'tuning');
      assert.equal(h.training.submissionCount('training'), 0);
    });

    it('no successful trial fails the run with one ERROR and one run.finished', async () => {
      const h = fx.harness();
      const runId = await fx.toTuning(h);
      fx.finishStudy(h, runId, [fx.TRIALS[2]], 'FAILED');
      await onJobEvent(h.ctx, fx.studyCompleted(runId, 'FAILED'));
      await onJobEvent(h.ctx, fx.studyCompleted(runId, 'FAILED'));
      assertFailedOnce(h, runId, /no trial succeeded \(1 failed\)/);
      assert.equal(h.training.submissionCount('training'), 0);
      assert.equal(
        h.logs.filter(
          (l) => l.severity === 'ERROR' && /^run failed: no trial succeeded/.test(l.message),
        ).length,
        1,
      );
    });

    it('a study the backend does not know is a transient error (thrown, so it is redelivered)', async () => {
      const h = fx.harness();
      const runId = await fx.toTuning(h);
      h.training.studies.clear();
      await assert.rejects(
        onJobEvent(h.ctx, fx.studyCompleted(runId)),
        /not found on the training backend/,
      );
      assert.equal(fx.runOf(h.bucket, runId)?.state, 'tuning');
    });
  });

  describe('training.completed', () => {
    async function trained(h: fx.Harness) {
      const runId = await fx.toFinalTraining(h);
      await fx.writeModel(h.bucket, fx.modelDirOf(fx.onlyTraining(h.training)), good);
      return runId;
    }

    it("publishes the final model as a candidate with the model's own RMSE; the run is gating", async () => {
      const h = fx.harness();
      const runId = await trained(h);
      await onJobEvent(h.ctx, fx.trainingCompleted(runId));
      const [message, ...more] = h.messaging.messages.filter(
        (m) => m.topic === fx.TOPICS.modelCandidates,
      );
      assert.equal(more.length, 0);
      assert.deepEqual(message.event as ModelCandidateEvent, {
        type: 'model.candidate',
        runId,
        model: fx.MODEL,
        metric: 'rmse',
        value: good.rmse,
      });
      assert.deepEqual(message.attributes, { runId, type: 'model.candidate' });
      const run = fx.runOf(h.bucket, runId)!;
      assert.equal(run.state, 'gating');
      assert.equal(run.final?.value, good.rmse);
      assert.equal(run.final?.metric, 'rmse');
    });

    it('redelivery acts once: no second candidate, run unchanged', async () => {
      const h = fx.harness();
      const runId = await trained(h);
      await onJobEvent(h.ctx, fx.trainingCompleted(runId));
      const before = fx.snapshot(h.bucket);
      await onJobEvent(h.ctx, fx.trainingCompleted(runId));
      await onJobEvent(h.ctx, fx.trainingCompleted(runId));
      assert.equal(h.messaging.published(fx.TOPICS.modelCandidates).length, 1);
      assert.deepEqual(fx.snapshot(h.bucket), before);
    });

    it('a failed final training fails the run, once, with the reason', async () => {
      const h = fx.harness();
      const runId = await fx.toFinalTraining(h);
      const jobId = `${runId}-final`;
      h.training.setTraining({ jobId, state: 'FAILED', error: 'replica exited with 137' });
      const failed = { ...fx.trainingCompleted(runId, 'FAILED'), error: 'replica exited with 137' };
      await onJobEvent(h.ctx, failed);
      await onJobEvent(h.ctx, failed); // the redelivery
      assertFailedOnce(h, runId, /final training failed: replica exited with 137/);
      assert.equal(h.messaging.published(fx.TOPICS.modelCandidates).length, 0);
    });

    it('asks the backend, not the event: a forged completion of a training still running changes nothing', async () => {
      const h = fx.harness();
      const runId = await fx.toFinalTraining(h);
      h.training.setTraining({ jobId: `${runId}-final`, state: 'RUNNING' });
      const before = fx.snapshot(h.bucket);
      for (const state of ['FAILED', 'SUCCEEDED'] as const)
        await onJobEvent(h.ctx, { ...fx.trainingCompleted(runId, state), error: 'forged' });
      assert.equal(fx.runOf(h.bucket, runId)?.state, 'final-training');
      assert.deepEqual(fx.snapshot(h.bucket), before);
      assert.ok(
        h.logs.some((l) =>
          /training event ignored: the training backend reports job .* RUNNING/.test(l.message),
        ),
      );
    });

    it('a run made before runs had their own copies of the drop trains on the dropped objects', async () => {
      const h = fx.harness();
      const runId = await fx.toTuning(h);
      const record = h.bucket.json<{ data: Record<string, unknown> }>(fx.paths.run(runId))!;
      delete record.data.inputs;
      h.bucket.put(fx.paths.run(runId), JSON.stringify(record));
      fx.finishStudy(h, runId);
      await onJobEvent(h.ctx, fx.studyCompleted(runId));
      const final = fx.onlyTraining(h.training);
      assert.deepEqual([final.trainData, final.evalData], [[fx.paths.train], [fx.paths.eval]]);
    });

    it('a success without a complete model fails the run (no candidate)', async () => {
      const h = fx.harness();
      const runId = await fx.toFinalTraining(h);
      await h.bucket.write(
        fx.modelDirOf(fx.onlyTraining(h.training)) + 'weights.bin',
        good.weightsBin,
      ); // model.json never came
      await onJobEvent(h.ctx, fx.trainingCompleted(runId));
      assert.equal(fx.runOf(h.bucket, runId)?.state, 'failed');
      assert.match(
        fx.runOf(h.bucket, runId)!.error!.message,
        /no complete model in runs\/.+\/final\/model\//,
      );
      assert.equal(h.messaging.published(fx.TOPICS.modelCandidates).length, 0);
    });

    it('a training event before the run reached final training is ignored', async () => {
      const h = fx.harness();
      const runId = await fx.toTuning(h);
      const before = fx.snapshot(h.bucket);
      await onJobEvent(h.ctx, fx.trainingCompleted(runId));
      assert.deepEqual(fx.snapshot(h.bucket), before);
      assert.equal(h.messaging.messages.length, 0);
    });

    it('a run.finished lost to a failed publish is published by the redelivery, once', async () => {
      const h = fx.harness();
      const runId = await fx.toFinalTraining(h);
      h.messaging.failNextPublish();
      await assert.rejects(
        onJobEvent(h.ctx, fx.trainingCompleted(runId, 'FAILED')),
        /publish failed/,
      );
      assert.equal(fx.runOf(h.bucket, runId)?.state, 'failed');
      assert.equal(fx.finished(h, runId).length, 0);
      await onJobEvent(h.ctx, fx.trainingCompleted(runId, 'FAILED'));
      await onJobEvent(h.ctx, fx.trainingCompleted(runId, 'FAILED'));
      assert.equal(fx.finished(h, runId).length, 1);
    });
  });

  describe('Pub/Sub delivery', () => {
    const deliver = (h: fx.Harness, data: unknown) =>
      deliverPubSub(
        h.ctx,
        'job-completed',
        data,
        ['trial.completed', 'study.completed', 'training.completed'],
        (e) => onJobEvent(h.ctx, e),
      );

    it('a well-formed push reaches the stage', async () => {
      const h = fx.harness();
      const runId = await fx.toTuning(h);
      fx.finishStudy(h, runId);
      await deliver(h, fx.pubsubPush(fx.studyCompleted(runId)));
      assert.equal(fx.runOf(h.bucket, runId)?.state, 'final-training');
    });

    it('malformed or misrouted events are logged as ERROR and acknowledged: no throw, no effect', async () => {
      const h = fx.harness();
      const runId = await fx.toTuning(h);
      fx.finishStudy(h, runId);
      const other = 'babyweight-0123456789ab';
      const bad: unknown[] = [
        undefined,
        { message: {} },
        fx.pubsubPush('not json'),
        fx.pubsubPush('[1,2]'),
        fx.pubsubPush({
          type: 'study.exploded',
          runId,
          model: fx.MODEL,
          jobId: `${runId}-study`,
          state: 'SUCCEEDED',
        }),
        fx.pubsubPush({ type: 'study.completed', runId, model: fx.MODEL, state: 'SUCCEEDED' }), // no jobId
        fx.pubsubPush({ ...fx.studyCompleted(runId), state: 'DONE' }),
        fx.pubsubPush({ ...fx.studyCompleted(runId), runId: 'not-a-run' }),
        fx.pubsubPush({ ...fx.studyCompleted(runId), model: 'taxifare' }),
        fx.pubsubPush({ ...fx.studyCompleted(runId), jobId: `${other}-study` }), // another run's job
        // Wrongly typed fields of a trial event, and a trial id that would forge a log line.
        ...[{ objective: '1.05' }, { state: 7 }, { trialId: '1\nINFO forged line' }].map((wrong) =>
          fx.pubsubPush({
            type: 'trial.completed',
            runId,
            model: fx.MODEL,
            jobId: `${runId}-study`,
            trialId: '1',
            state: 'SUCCEEDED',
            parameters: { nembeds: 3 },
            objective: 1.05,
            ...wrong,
          }),
        ),
        fx.pubsubPush({
          type: 'model.candidate',
          runId,
          model: fx.MODEL,
          metric: 'rmse',
          value: 1,
        }), // not this stage's
      ];
      const before = fx.snapshot(h.bucket);
      for (const data of bad) await deliver(h, data);
      const dropped = h.logs.filter(
        (l) => l.severity === 'ERROR' && /^dropped an invalid event/.test(l.message),
      );
      assert.equal(dropped.length, bad.length, dropped.map((l) => l.message).join('\n'));
      assert.deepEqual(fx.snapshot(h.bucket), before);
      assert.equal(h.training.submissionCount('training'), 0);
      assert.equal(h.messaging.messages.length, 0);
      assert.equal(fx.runOf(h.bucket, runId)?.state, 'tuning');
    });
  });
});
