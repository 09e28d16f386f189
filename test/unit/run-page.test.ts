/**
 * @module test/unit/run-page
 * The run page's data and HTML as the stages write them, on the in-memory ports: the page
 * follows the run step by step, carries every decision with its numbers (early stops, failed
 * trials, the gate's both figures and eval rows), never goes back to an older snapshot, and a
 * page that cannot be written is a WARNING that leaves the run going.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  explainEarlyStop,
  TOPICS,
  type ModelCandidateEvent,
  type ModelsPageData,
  type RunPageData,
  type Trial,
} from '@bucketml/contracts';
import { embeddedRevision } from '@bucketml/pages';
import { onJobEvent, onModelCandidate, refreshRunPage } from '@bucketml/pipeline';
import type { Storage } from '@bucketml/ports';
import * as fx from './fixtures.ts';

const OLD = 'babyweight-000000000001';
const page = (h: fx.Harness, runId: string) =>
  h.bucket.json<RunPageData>(`runs/${runId}/page.json`)!;
const html = (h: fx.Harness, name: string) => h.bucket.bytes(name)!.toString('utf8');

const STOP = {
  measurement: 3,
  value: 1.4,
  median: 1.2,
  finished: 4,
  improvement: 0.01,
  medianImprovement: 0.05,
};
const TRIALS: Trial[] = fx.TRIALS.map((t) =>
  t.state === 'STOPPED'
    ? { ...t, earlyStop: STOP, measurements: [1.41, 1.4, 1.4] }
    : { ...t, measurements: t.objective !== undefined ? [t.objective + 0.1, t.objective] : [] },
);

describe('run page (stages on in-memory ports)', () => {
  let good: fx.ModelFiles;
  let poor: fx.ModelFiles;
  before(async () => void ({ good, poor } = await fx.trainedModels()));

  it('follows the run through every stage and ends with the whole trail of decisions (in trial order) and their numbers', async () => {
    const h = fx.harness();
    await fx.deployVersion(h.bucket, OLD, poor);
    const runId = await fx.toTuning(h);
    const tuning = page(h, runId);
    assert.equal(tuning.state, 'tuning');
    assert.equal(tuning.terminal, false);
    assert.equal(tuning.data?.rows.used, 600, 'the data summary: 400 training + 200 eval rows');
    assert.equal(embeddedRevision(html(h, `runs/${runId}/index.html`)), tuning.revision);

    fx.finishStudy(h, runId, TRIALS);
    await onJobEvent(h.ctx, fx.studyCompleted(runId));
    const analysed = page(h, runId);
    assert.ok(analysed.revision > tuning.revision);
    const report = h.bucket.json<{ trials: Trial[] }>(fx.paths.report(runId))!;
    assert.deepEqual(
      analysed.trials.map((t) => t.id),
      report.trials.map((t) => t.id),
      "report.json's order",
    );

    await fx.writeModel(h.bucket, fx.modelDirOf(fx.onlyTraining(h.training)), good);
    await onJobEvent(h.ctx, fx.trainingCompleted(runId));
    const [event] = h.messaging.take<ModelCandidateEvent>(TOPICS.modelCandidates);
    await onModelCandidate(h.ctx, event);

    const end = page(h, runId);
    assert.equal(end.state, 'deployed');
    assert.equal(end.terminal, true);
    assert.equal(end.version, runId);
    const gate = end.decisions.find((d) => d.kind === 'gate')!;
    assert.equal(gate.figures?.servingVersion, OLD);
    assert.equal(gate.figures?.evalRows, 200, 'the eval rows');
    assert.equal(gate.figures?.candidateValue, end.decision?.candidateValue);
    assert.equal(gate.figures?.servingValue, end.decision?.servingValue);
    assert.ok(typeof gate.figures?.servingValue === 'number', 'both figures');
    assert.equal(end.decision?.evalRows, 200);
    const stop = end.decisions.find((d) => d.kind === 'early-stop')!;
    assert.deepEqual([stop.trialId, stop.figures], ['4', STOP]);
    assert.equal(stop.message, `stopped: ${explainEarlyStop(STOP, 'rmse')}`);
    assert.equal(end.trials.find((t) => t.id === '4')?.earlyStop?.median, 1.2);
    assert.deepEqual(
      end.decisions.filter((d) => d.kind === 'trial-failed').map((d) => [d.trialId, d.message]),
      [['3', 'trainer exited with code 1']],
    );
    assert.deepEqual(
      end.decisions.map((d) => d.kind),
      ['data', 'trial-failed', 'early-stop', 'best-trial', 'gate'],
    );
    assert.equal(embeddedRevision(html(h, `runs/${runId}/index.html`)), end.revision);

    // The gate's verdict event and run.finished carry the same numbers.
    const notice = h.logs.find((l) => l.severity === 'NOTICE' && l.stage === 'deploy')!;
    assert.deepEqual(
      [notice.candidateValue, notice.servingValue, notice.evalRows],
      [end.decision?.candidateValue, end.decision?.servingValue, 200],
    );
    const [outcome] = fx.finished(h, runId);
    assert.equal(outcome.evalRows, 200);

    // The models page: the new version, serving, with its figures.
    const models = h.bucket.json<ModelsPageData>('models/babyweight/page.json')!;
    assert.equal(models.serving, runId);
    assert.deepEqual(
      models.deployments.map((d) => [d.version, d.previousVersion, d.evalRows]),
      [[runId, OLD, 200]],
    );
    assert.equal(models.deployments[0].value, end.decision?.candidateValue);
    assert.equal(embeddedRevision(html(h, 'models/babyweight/index.html')), models.revision);
  });

  it('a rejected candidate: the page gives both figures and the eval rows', async () => {
    const h = fx.harness();
    await fx.deployVersion(h.bucket, OLD, good);
    const { runId, event } = await fx.toGating(h, poor);
    await onModelCandidate(h.ctx, event);
    const end = page(h, runId);
    assert.equal(end.state, 'rejected');
    assert.equal(end.decision?.evalRows, 200);
    assert.match(end.decision!.reason, /is worse than .* on this run's eval data \(200 rows\)/);
    const warning = h.logs.find((l) => /^candidate rejected/.test(l.message))!;
    assert.equal(warning.evalRows, 200);
  });

  it('concurrent rewrites: the page never goes back, and the HTML embeds the newest snapshot', async () => {
    const h = fx.harness();
    const runId = await fx.toTuning(h);
    const start = page(h, runId).revision;
    await Promise.all(Array.from({ length: 5 }, () => refreshRunPage(h.ctx, runId)));
    const after = page(h, runId);
    assert.equal(after.revision, start + 5, 'each rewrite a revision of its own');
    assert.equal(embeddedRevision(html(h, `runs/${runId}/index.html`)), after.revision);
    assert.equal(
      h.logs.filter((l) => /page not updated/.test(l.message)).length,
      0,
      'no write gave up',
    );
  });

  it('a page that cannot be written is a WARNING and the run goes on', async () => {
    const h = fx.harness();
    const refusing: Storage = new Proxy(h.bucket, {
      get(target, key, receiver) {
        if (key === 'write')
          return (name: string, ...rest: unknown[]) =>
            /\/(page\.json|index\.html)$/.test(name)
              ? Promise.reject(new Error('storage is having a bad day'))
              : (target.write as (...a: unknown[]) => Promise<string>)(name, ...rest);
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    h.ctx.storage = refusing;
    const runId = await fx.toTuning(h);
    assert.equal(fx.runOf(h.bucket, runId)?.state, 'tuning');
    const warnings = h.logs.filter((l) => l.severity === 'WARNING' && /run page/.test(l.message));
    assert.ok(warnings.length >= 1);
    assert.match(warnings[0].message, /run page not updated: storage is having a bad day/);
    assert.equal(h.bucket.bytes(`runs/${runId}/page.json`), undefined);
  });
});
