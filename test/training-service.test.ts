import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createLogger } from '@bucketml/pipeline';
import { LocalTrainingService, startPubSubEmulator, freePort } from '@bucketml/local-stack';
import { parseEvent, TOPICS, type EarlyStopDecision } from '@bucketml/contracts';
import type { StudyJob, StudyJobRequest } from '@bucketml/ports';
import { stoppingDecision } from '@bucketml/tuning';
import { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { PubSubMessaging } from '@bucketml/ports/pubsub';
import { Writable } from 'node:stream';
import { join, dirname } from 'node:path';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { sampleCsv, tempDir } from './helpers.ts';

/**
 * The local training service on the real Pub/Sub emulator: failed trials and maxFailedTrials.
 * A categorical nnsize whose second value the trainer rejects makes every other trial fail.
 */
describe('local training service', () => {
  let emulator: Awaited<ReturnType<typeof startPubSubEmulator>>;
  let pubsub: PubSub;
  let subscription: Subscription;
  let service: LocalTrainingService;
  let messaging: PubSubMessaging;
  let url: string;
  const events: Record<string, unknown>[] = [];

  before(async () => {
    emulator = await startPubSubEmulator(await freePort());
    process.env.PUBSUB_EMULATOR_HOST = emulator.host;
    process.env.METADATA_SERVER_DETECTION = 'none';
    pubsub = new PubSub({ projectId: 'test' });
    const [topic] = await pubsub.createTopic(TOPICS.jobEvents);
    [subscription] = await topic.createSubscription('events');
    subscription.on('message', (m: Message) => {
      events.push(JSON.parse(m.data.toString()));
      m.ack();
    });
    const root = await tempDir();
    const bucket = new DirectoryBucket(root);
    await mkdir(join(root, 'data'));
    await sampleCsv(join(root, 'data'), 'train.csv', 'babyweight/train.csv', 1500);
    await sampleCsv(join(root, 'data'), 'eval.csv', 'babyweight/eval.csv', 400);
    messaging = new PubSubMessaging('test');
    const trainerBin = join(
      dirname(createRequire(import.meta.url).resolve('@bucketml/cli')),
      '../bin/bucketml.js',
    );
    const quiet = new Writable({ write: (_c, _e, done) => done() });
    service = new LocalTrainingService({
      bucket,
      messaging,
      log: createLogger('test', quiet),
      stateDir: join(root, '.jobs'),
      trainerBin,
    });
    url = await service.start();
  });
  after(async () => {
    await service?.stop();
    await messaging?.close();
    await subscription?.close();
    await pubsub?.close();
    await emulator?.stop();
  });

  const study = (jobId: string, maxFailedTrials: number): StudyJobRequest => ({
    jobId,
    runId: jobId,
    model: 'babyweight',
    trainData: ['data/train.csv'],
    evalData: ['data/eval.csv'],
    args: ['--train_examples=2048'],
    outputDir: `runs/${jobId}/trials/`,
    goal: 'MINIMIZE',
    metricTag: 'rmse',
    maxTrials: 4,
    maxParallelTrials: 2,
    maxFailedTrials,
    enableTrialEarlyStopping: false,
    algorithm: 'GRID_SEARCH',
    params: [{ name: 'nnsize', type: 'CATEGORICAL', categoricalValues: ['16', 'sixteen'] }],
    seed: 1,
  });

  async function run(request: StudyJobRequest) {
    const res = await fetch(`${url}/studies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    assert.equal(res.status, 200);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const done = events.find((e) => e.type === 'study.completed' && e.jobId === request.jobId);
      if (done) return done;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail(`study ${request.jobId} did not complete`);
  }

  it('a failed trial does not stop the study when maxFailedTrials allows it', async () => {
    const done = await run(study('lenient', 0));
    assert.equal(done.state, 'SUCCEEDED');
    const trials = events.filter((e) => e.type === 'trial.completed' && e.jobId === 'lenient');
    assert.deepEqual(trials.map((t) => t.state).sort(), [
      'FAILED',
      'FAILED',
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
    assert.match(
      String(trials.find((t) => t.state === 'FAILED')!.error),
      /--nnsize must be a positive integer/,
    );
    assert.ok(service.stats.maxConcurrentTrials <= 2);
  });

  it('an early stop carries its numbers in the trial and its event: value vs the median of the finished trials at its measurement, improvement vs theirs', async () => {
    // Four trials that learn, then one whose learning rate is too small to move at all: the
    // median rule stops it at its second measurement.
    const request: StudyJobRequest = {
      ...study('early-stop', 0),
      maxTrials: 5,
      maxParallelTrials: 1,
      enableTrialEarlyStopping: true,
      // Long enough between evaluations for the service's poll (every 200 ms) to see each.
      args: ['--train_examples=16000', '--evaluations=10'],
      params: [
        {
          name: 'learning_rate',
          type: 'CATEGORICAL',
          categoricalValues: ['0.01', '0.011', '0.012', '0.013', '0.000000001'],
        },
      ],
    };
    const done = await run(request);
    assert.equal(done.state, 'SUCCEEDED');
    const trials = events.filter((e) => e.type === 'trial.completed' && e.jobId === 'early-stop');
    const stopped = trials.find((t) => t.trialId === '5')!;
    assert.equal(stopped.state, 'STOPPED', JSON.stringify(trials));
    const stop = stopped.earlyStop as EarlyStopDecision;
    assert.ok(stop, 'the event carries the numbers');
    // The numbers are the rule's own, recomputed from the trials' recorded measurements.
    const job = (await (await fetch(`${url}/studies/early-stop`)).json()) as StudyJob;
    const record = job.trials.find((t) => t.id === '5')!;
    assert.deepEqual(record.earlyStop, stop, 'the trial records what the event says');
    const finished = job.trials.filter((t) => t.id !== '5').map((t) => t.measurements!);
    assert.deepEqual(
      stoppingDecision(record.measurements!.slice(0, stop.measurement), finished, 'MINIMIZE'),
      stop,
    );
    assert.equal(stop.finished, 4);
    assert.ok(stop.value > stop.median && stop.improvement < stop.medianImprovement);
    // The event's schema takes the numbers (under a real run id: these jobs' ids are short).
    const runId = 'babyweight-0123456789ab';
    const relabelled = parseEvent({ ...stopped, runId, jobId: `${runId}-study` });
    assert.deepEqual((relabelled as { earlyStop?: unknown }).earlyStop, stop);
    assert.throws(
      () =>
        parseEvent({
          ...stopped,
          runId,
          jobId: `${runId}-study`,
          earlyStop: { ...stop, median: 'x' },
        }),
      /earlyStop is malformed/,
    );
  });

  it('the study fails once more than maxFailedTrials trials have failed', async () => {
    const done = await run(study('strict', 1));
    assert.equal(done.state, 'FAILED');
    assert.match(String(done.error), /more than 1 trials failed/);
  });

  it('a study asking for more parallel trials than the machine can run gets what it can run', async () => {
    const greedy = {
      ...study('greedy', 0),
      maxTrials: 6,
      maxParallelTrials: 24,
      params: [
        { name: 'nnsize', type: 'DISCRETE' as const, discreteValues: [8, 16, 24, 32, 40, 48] },
      ],
    };
    const done = await run(greedy);
    assert.equal(done.state, 'SUCCEEDED');
    const cap = Math.max(2, 2 * availableParallelism());
    assert.ok(
      service.stats.maxConcurrentTrials <= cap,
      `${service.stats.maxConcurrentTrials} at once, cap ${cap}`,
    );
  });

  it('on restart, a job the service kept dying on is failed with the reason, a cancelled one is not resumed, and an unreadable record is set aside', async () => {
    const stateDir = join(await tempDir(), '.jobs');
    await mkdir(stateDir);
    // As a service that died 3 times in a row running this study, no trial finished, left it.
    const poison = {
      kind: 'study',
      request: study('poison', 0),
      state: 'RUNNING',
      trials: [],
      completionPublished: false,
      starts: { inARow: 3, finishedTrials: 0 },
    };
    await writeFile(join(stateDir, 'poison.json'), JSON.stringify(poison));
    await writeFile(join(stateDir, 'garbage.json'), '{"kind": "stu');
    // Cancelled while running, before the service stopped: not resumed, ended as cancelled.
    await writeFile(
      join(stateDir, 'stopped.json'),
      JSON.stringify({
        ...poison,
        request: study('stopped', 0),
        starts: undefined,
        cancelRequested: true,
      }),
    );
    const quiet = new Writable({ write: (_c, _e, done) => done() });
    const restarted = new LocalTrainingService({
      bucket: new DirectoryBucket(await tempDir()),
      messaging,
      log: createLogger('test', quiet),
      stateDir,
      trainerBin: '/nonexistent',
    });
    try {
      await restarted.start();
      const deadline = Date.now() + 20_000;
      let done: Record<string, unknown> | undefined;
      while (!done && Date.now() < deadline) {
        done = events.find((e) => e.type === 'study.completed' && e.jobId === 'poison');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(done?.state, 'FAILED');
      assert.match(
        String(done?.error),
        /not resumed: the training service stopped 3 times in a row/,
      );
      assert.ok(existsSync(join(stateDir, 'garbage.json.unreadable')));
      let stopped: Record<string, unknown> | undefined;
      while (!stopped && Date.now() < deadline) {
        stopped = events.find((e) => e.type === 'study.completed' && e.jobId === 'stopped');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(stopped?.error, 'cancelled by request');
    } finally {
      await restarted.stop();
    }
  });

  it('a cancelled study stops its trainers and ends failed with the reason; a restarted service does not resume it', async () => {
    const long = {
      ...study('cancelled', 0),
      args: ['--train_examples=5000000'],
      params: [{ name: 'nnsize', type: 'DISCRETE' as const, discreteValues: [16, 32] }],
    };
    const res = await fetch(`${url}/studies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(long),
    });
    assert.equal(res.status, 200);
    // Once its trainers run, cancel it: it ends within seconds, not after 5M examples.
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      const job = (await (await fetch(`${url}/studies/cancelled`)).json()) as { trials: unknown[] };
      if (job.trials.length === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const asked = Date.now();
    const cancel = await fetch(`${url}/jobs/cancelled/cancel`, { method: 'POST' });
    assert.deepEqual(await cancel.json(), { jobId: 'cancelled', cancelling: true });
    let done: Record<string, unknown> | undefined;
    while (!done && Date.now() - asked < 20_000) {
      done = events.find((e) => e.type === 'study.completed' && e.jobId === 'cancelled');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(done?.state, 'FAILED');
    assert.equal(done?.error, 'cancelled by request');
    const job = (await (await fetch(`${url}/studies/cancelled`)).json()) as {
      state: string;
      trials: { state: string; error?: string }[];
    };
    assert.equal(job.state, 'CANCELLED');
    assert.equal(job.trials.length, 2, 'no trial started after the cancel');
    // Cancelling again, or an unknown job, is a no-op.
    assert.deepEqual(
      await (await fetch(`${url}/jobs/cancelled/cancel`, { method: 'POST' })).json(),
      {
        jobId: 'cancelled',
        cancelling: false,
      },
    );
  });

  it('resubmitting a job returns it instead of starting another', async () => {
    const res = await fetch(`${url}/studies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(study('lenient', 0)),
    });
    assert.deepEqual(await res.json(), { jobId: 'lenient', created: false });
  });
});
