import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobIdOf, layout } from '@bucketml/contracts';
import { onJobEvent, onObjectFinalized } from '@bucketml/pipeline';
import {
  drop,
  finished,
  finishStudy,
  harness,
  onlyStudy,
  runOf,
  studyCompleted,
  toTuning,
  type Harness,
} from './fixtures.ts';

/** A cancel request as `bucketml cancel` writes it, delivered as its storage event. */
async function requestCancel(h: Harness, runId: string, reason?: string) {
  const name = layout.cancelRequest(runId);
  const generation = h.bucket.put(name, JSON.stringify({ requestedAt: 'now', reason }));
  await onObjectFinalized(h.ctx, { bucket: h.bucket.bucketName, name, generation });
}

describe('cancel: runs/<runId>/cancel.json', () => {
  it("cancels the run's jobs on the training backend and fails the run with the reason; a redelivery changes nothing", async () => {
    const h = harness();
    const runId = await toTuning(h);
    await requestCancel(h, runId, 'wrong data');
    assert.deepEqual(h.training.cancelled, [jobIdOf(runId, 'study'), jobIdOf(runId, 'final')]);
    const run = runOf(h.bucket, runId)!;
    assert.equal(run.state, 'failed');
    assert.deepEqual(run.error, { stage: 'cancel', message: 'cancelled: wrong data' });
    assert.deepEqual(
      finished(h, runId).map((e) => [e.outcome, e.reason]),
      [['failed', 'cancelled: wrong data']],
    );
    // A redelivery cancels the jobs again (a crash may have left one running); one outcome.
    await requestCancel(h, runId);
    assert.deepEqual(h.training.cancelled.slice(2), h.training.cancelled.slice(0, 2));
    assert.equal(runOf(h.bucket, runId)!.error?.message, 'cancelled: wrong data');
    assert.equal(finished(h, runId).length, 1);
  });

  it('a study that completes after the cancel starts no final training', async () => {
    const h = harness();
    const runId = await toTuning(h);
    await requestCancel(h, runId);
    finishStudy(h, runId);
    await onJobEvent(h.ctx, studyCompleted(runId));
    assert.equal(h.training.trainings.size, 0);
    assert.equal(runOf(h.bucket, runId)!.state, 'failed');
  });

  it('a forged cancel event (no request object in the bucket) changes nothing', async () => {
    const h = harness();
    const runId = await toTuning(h);
    const name = layout.cancelRequest(runId);
    await onObjectFinalized(h.ctx, { bucket: h.bucket.bucketName, name, generation: '1' });
    assert.equal(runOf(h.bucket, runId)!.state, 'tuning');
    assert.deepEqual(h.training.cancelled, []);
    assert.ok(h.logs.some((l) => /cancel event ignored: .* does not exist/.test(l.message)));
  });

  it('a request for a run that does not exist is a warning, and a drop is unaffected', async () => {
    const h = harness();
    await requestCancel(h, 'babyweight-000000000000');
    assert.ok(
      h.logs.some((l) => l.severity === 'WARNING' && /there is no such run/.test(l.message)),
    );
    for (const e of drop(h.bucket)) await onObjectFinalized(h.ctx, e);
    assert.equal(runOf(h.bucket, onlyStudy(h.training).runId)!.state, 'tuning');
  });
});
