import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEvent, type JobEvent } from '@bucketml/contracts';
import { deliverPubSub, onJobEvent } from '@bucketml/pipeline';
import {
  decodeLogSinkMessage,
  jobEventsOf,
  onVertexLogEntry,
  type VertexEventsContext,
} from '@bucketml/pipeline/vertex-events';
import { MemoryMessaging } from '@bucketml/ports/testing';
import type { VertexJob, VertexJobService } from '@bucketml/ports/vertex-training';
import {
  capturingLogger,
  finishStudy,
  harness,
  MODEL,
  onlyTraining,
  pubsubPush,
  runOf,
  TOPICS,
  toTuning,
  type Harness,
} from './fixtures.ts';

const RUN = 'babyweight-0123456789ab';
const PARENT = 'projects/p/locations/us-central1';

/** Vertex trials in the client's shape: enums as names, longs as strings, parameters as protobuf Values. */
const trial = (id: string, state: string, batch: number, rmse?: number[]) => ({
  id,
  state,
  parameters: [
    { parameterId: 'batch_size', value: { numberValue: batch } },
    { parameterId: 'nembeds', value: { numberValue: 5 } },
  ],
  measurements: (rmse ?? []).map((value) => ({ metrics: [{ metricId: 'rmse', value }] })),
  ...(state === 'SUCCEEDED' && rmse
    ? { finalMeasurement: { metrics: [{ metricId: 'rmse', value: rmse.at(-1) }] } }
    : {}),
  ...(state === 'INFEASIBLE' ? { infeasibleReason: 'trainer exited with code 1' } : {}),
  startTime: { seconds: '1795000000', nanos: 0 },
  endTime: { seconds: '1795000030', nanos: 0 },
});

/** What each job bucketml submits carries: its resource name, its id `<run>-<kind>` and labels. */
function jobOf(runId: string, kind: 'study' | 'final', resource: string, state: string | number) {
  const jobId = `${runId}-${kind}`;
  const labels = { 'bucketml-run': runId, 'bucketml-job': jobId, 'bucketml-model': MODEL };
  return { name: `${PARENT}/${resource}`, displayName: jobId, state, labels };
}

function tuningJob(
  runId: string,
  state: string | number,
  trials = [
    trial('1', 'SUCCEEDED', 64, [1.2, 1.1]),
    trial('2', 'SUCCEEDED', 512, [1.3, 1.05]),
    trial('3', 'INFEASIBLE', 8),
    trial('4', 'ACTIVE', 16),
  ],
): VertexJob {
  return {
    ...jobOf(runId, 'study', 'hyperparameterTuningJobs/1234', state),
    trialJobSpec: { baseOutputDirectory: { outputUriPrefix: `gs://b/runs/${runId}/trials/` } },
    trials,
  } as VertexJob;
}

function customJob(runId: string, state: string | number, error?: string): VertexJob {
  return {
    ...jobOf(runId, 'final', 'customJobs/5678', state),
    jobSpec: { baseOutputDirectory: { outputUriPrefix: `gs://b/runs/${runId}/final/` } },
    ...(error ? { error: { code: 3, message: error } } : {}),
  } as VertexJob;
}

/** A job service holding jobs by numeric id; other ids are NOT_FOUND (gRPC code 5). */
function jobService(
  jobs: { hpt?: Record<string, VertexJob>; custom?: Record<string, VertexJob> },
  fail?: Error,
) {
  const calls: string[] = [];
  const get =
    (kind: 'hpt' | 'custom') =>
    async ({ name }: { name: string }) => {
      calls.push(name);
      if (fail) throw fail;
      const job = jobs[kind]?.[name.split('/').at(-1)!];
      if (!job) throw Object.assign(new Error('5 NOT_FOUND'), { code: 5 });
      return [structuredClone(job)] as [VertexJob];
    };
  const service = {
    getHyperparameterTuningJob: get('hpt'),
    getCustomJob: get('custom'),
  } as unknown as VertexJobService;
  return { service, calls };
}

function vertexContext(service: VertexJobService) {
  const messaging = new MemoryMessaging();
  const { log, events } = capturingLogger('vertex-events');
  const ctx: VertexEventsContext = {
    project: 'p',
    region: 'us-central1',
    jobs: service,
    messaging,
    log,
  };
  return { ctx, messaging, logs: events };
}

/** A job state-change entry as the log sink delivers it. */
const logEntry = (jobId: string) => ({
  insertId: 'abc',
  resource: { type: 'ml_job', labels: { job_id: jobId, project_id: 'p', task_name: 'service' } },
  severity: 'INFO',
  textPayload: 'Job completed successfully.',
});

describe('vertex-events: jobEventsOf', () => {
  it('a finished tuning job: trial.completed for each finished trial, then study.completed; each passes parseEvent', () => {
    const events = jobEventsOf('study', tuningJob(RUN, 'JOB_STATE_SUCCEEDED'));
    const base = { runId: RUN, model: MODEL, jobId: `${RUN}-study` };
    assert.deepEqual(events, [
      {
        type: 'trial.completed',
        ...base,
        trialId: '1',
        state: 'SUCCEEDED',
        parameters: { batch_size: 64, nembeds: 5 },
        objective: 1.1,
        seconds: 30,
      },
      {
        type: 'trial.completed',
        ...base,
        trialId: '2',
        state: 'SUCCEEDED',
        parameters: { batch_size: 512, nembeds: 5 },
        objective: 1.05,
        seconds: 30,
      },
      {
        type: 'trial.completed',
        ...base,
        trialId: '3',
        state: 'FAILED',
        parameters: { batch_size: 8, nembeds: 5 },
        seconds: 30,
        error: 'trainer exited with code 1',
      },
      { type: 'study.completed', ...base, state: 'SUCCEEDED' },
    ]);
    for (const e of events)
      assert.deepEqual(
        parseEvent(JSON.parse(JSON.stringify(e))),
        e,
        'job-completed accepts what vertex-events publishes',
      );
  });

  it('a custom job: training.completed, SUCCEEDED or FAILED with the reason', () => {
    assert.deepEqual(jobEventsOf('training', customJob(RUN, 'JOB_STATE_SUCCEEDED')), [
      {
        type: 'training.completed',
        runId: RUN,
        model: MODEL,
        jobId: `${RUN}-final`,
        state: 'SUCCEEDED',
      },
    ]);
    const [failed] = jobEventsOf(
      'training',
      customJob(
        RUN,
        'JOB_STATE_FAILED',
        'The replica workerpool0-0 exited with a non-zero status of 1.',
      ),
    );
    assert.deepEqual(failed, {
      type: 'training.completed',
      runId: RUN,
      model: MODEL,
      jobId: `${RUN}-final`,
      state: 'FAILED',
      error: 'The replica workerpool0-0 exited with a non-zero status of 1.',
    });
    assert.deepEqual(
      jobEventsOf('training', customJob(RUN, 'JOB_STATE_CANCELLED')).map((e) => [
        e.state,
        (e as { error?: string }).error,
      ]),
      [['FAILED', 'job cancelled']],
    );
    assert.deepEqual(
      jobEventsOf('training', customJob(RUN, 'JOB_STATE_EXPIRED')).map((e) => e.state),
      ['FAILED'],
    );
    assert.deepEqual(
      jobEventsOf('training', customJob(RUN, 4)).map((e) => e.state),
      ['SUCCEEDED'],
      'numeric enum: 4 = JOB_STATE_SUCCEEDED',
    );
  });

  it('a failed job with a long error message still yields events job-completed accepts', () => {
    const long = `Traceback (most recent call last):\n${'  File "/app/x.py", line 1, in <module>\n'.repeat(200)}`;
    const events = [
      ...jobEventsOf('training', customJob(RUN, 'JOB_STATE_FAILED', long)),
      ...jobEventsOf('study', { ...tuningJob(RUN, 'JOB_STATE_FAILED'), error: { message: long } }),
    ];
    assert.equal(events.filter((e) => e.type !== 'trial.completed').length, 2);
    for (const e of events)
      assert.doesNotThrow(() => parseEvent(JSON.parse(JSON.stringify(e))), e.type);
  });

  it('nothing for jobs still running, not ours, or of the other kind', () => {
    for (const state of [
      'JOB_STATE_QUEUED',
      'JOB_STATE_PENDING',
      'JOB_STATE_RUNNING',
      'JOB_STATE_CANCELLING',
      'JOB_STATE_UNSPECIFIED',
      'NONSENSE',
      3,
      null,
    ]) {
      assert.deepEqual(jobEventsOf('study', tuningJob(RUN, state as string)), [], String(state));
    }
    assert.deepEqual(
      jobEventsOf('study', { ...tuningJob(RUN, 'JOB_STATE_SUCCEEDED'), labels: {} }),
      [],
      'no BucketML labels',
    );
    assert.deepEqual(
      jobEventsOf('study', {
        ...tuningJob(RUN, 'JOB_STATE_SUCCEEDED'),
        displayName: 'someone-elses-job',
      }),
      [],
    );
    assert.deepEqual(
      jobEventsOf('training', {
        ...customJob(RUN, 'JOB_STATE_SUCCEEDED'),
        displayName: `${RUN}-study`,
      }),
      [],
      'a custom job named as a study',
    );
    assert.deepEqual(
      jobEventsOf('study', {
        ...tuningJob(RUN, 'JOB_STATE_SUCCEEDED'),
        displayName: `${RUN}-final`,
      }),
      [],
    );
  });
});

describe('vertex-events: onVertexLogEntry', () => {
  it('reads the job the entry names and publishes its events to the job-events topic', async () => {
    const { service, calls } = jobService({
      hpt: { '1234': tuningJob(RUN, 'JOB_STATE_SUCCEEDED') },
    });
    const { ctx, messaging, logs } = vertexContext(service);
    const events = await onVertexLogEntry(ctx, decodeLogSinkMessage(pubsubPush(logEntry('1234'))));
    assert.equal(events.length, 4);
    assert.deepEqual(messaging.published(TOPICS.jobEvents), events);
    assert.deepEqual(
      messaging.messages.map((m) => m.attributes),
      events.map((e) => ({ runId: RUN, type: e.type })),
    );
    assert.deepEqual(calls, [`${PARENT}/hyperparameterTuningJobs/1234`]);
    assert.ok(
      logs.some(
        (l) =>
          l.severity === 'INFO' &&
          l.message === `Vertex AI job 1234 (${RUN}-study) finished: SUCCEEDED` &&
          l.runId === RUN,
      ),
    );
  });

  it('falls back to the custom job when no tuning job has the id; a failure is logged as ERROR', async () => {
    const { service, calls } = jobService({
      custom: { '5678': customJob(RUN, 'JOB_STATE_FAILED', 'out of memory') },
    });
    const { ctx, messaging, logs } = vertexContext(service);
    await onVertexLogEntry(ctx, logEntry('5678'));
    assert.deepEqual(calls, [
      `${PARENT}/hyperparameterTuningJobs/5678`,
      `${PARENT}/customJobs/5678`,
    ]);
    assert.deepEqual(messaging.published(TOPICS.jobEvents), [
      {
        type: 'training.completed',
        runId: RUN,
        model: MODEL,
        jobId: `${RUN}-final`,
        state: 'FAILED',
        error: 'out of memory',
      },
    ]);
    assert.ok(logs.some((l) => l.severity === 'ERROR' && /finished: FAILED/.test(l.message)));
  });

  it('entries that name no job are ignored with a WARNING and no API call', async () => {
    const { service, calls } = jobService({});
    const { ctx, messaging, logs } = vertexContext(service);
    const entries: unknown[] = [
      null,
      'text',
      {},
      { resource: { type: 'cloud_function', labels: { job_id: '1' } } },
      { resource: { type: 'ml_job', labels: { job_id: '../x' } } },
      { resource: { type: 'ml_job', labels: {} } },
    ];
    for (const entry of entries) assert.deepEqual(await onVertexLogEntry(ctx, entry), []);
    assert.deepEqual(calls, []);
    assert.equal(messaging.messages.length, 0);
    assert.equal(logs.filter((l) => l.severity === 'WARNING').length, entries.length);
    assert.equal(
      decodeLogSinkMessage({ message: { data: Buffer.from('not json').toString('base64') } }),
      null,
    );
    assert.equal(decodeLogSinkMessage({}), null);
    assert.equal(decodeLogSinkMessage(null), null);
  });

  it('an unknown job publishes nothing; an API failure other than NOT_FOUND throws (redelivered)', async () => {
    const { ctx, messaging } = vertexContext(jobService({}).service);
    assert.deepEqual(await onVertexLogEntry(ctx, logEntry('999')), []);
    assert.equal(messaging.messages.length, 0);
    const unavailable = vertexContext(
      jobService({}, Object.assign(new Error('14 UNAVAILABLE'), { code: 14 })).service,
    );
    await assert.rejects(onVertexLogEntry(unavailable.ctx, logEntry('1234')), /UNAVAILABLE/);
    assert.equal(unavailable.messaging.messages.length, 0);
  });

  it('a redelivered entry republishes the same events, and job-completed acts on them once', async () => {
    const h: Harness = harness();
    const runId = await toTuning(h);
    finishStudy(h, runId); // what the backend (Vertex, here the fake) reports for the study
    const { service } = jobService({ hpt: { '1234': tuningJob(runId, 'JOB_STATE_SUCCEEDED') } });
    const { ctx, messaging } = vertexContext(service);
    const first = await onVertexLogEntry(ctx, logEntry('1234'));
    const second = await onVertexLogEntry(ctx, logEntry('1234'));
    assert.deepEqual(second, first, 'the job, not the entry, decides the events');

    for (const event of messaging.take<JobEvent>(TOPICS.jobEvents)) {
      await deliverPubSub(
        h.ctx,
        'job-completed',
        pubsubPush(event),
        ['trial.completed', 'study.completed', 'training.completed'],
        (e) => onJobEvent(h.ctx, e),
      );
    }
    assert.equal(
      h.logs.filter((l) => /^dropped an invalid event/.test(l.message)).length,
      0,
      'every event is valid',
    );
    assert.equal(h.training.submissionCount('training'), 1, 'one final training');
    assert.equal(onlyTraining(h.training).jobId, `${runId}-final`);
    assert.equal(runOf(h.bucket, runId)?.state, 'final-training');
    assert.equal(
      h.logs.filter((l) => l.stage === 'trial').length,
      6,
      'each delivery of a trial event is logged',
    );
  });
});
