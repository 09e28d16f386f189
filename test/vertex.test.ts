import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import aiplatform from '@google-cloud/aiplatform';
import { createLogger, type Logger } from '@bucketml/pipeline';
import {
  decodeLogSinkMessage,
  jobIdOfLogEntry,
  onVertexLogEntry,
} from '@bucketml/pipeline/vertex-events';
import type { Messaging } from '@bucketml/ports';
import {
  VertexTrainingBackend,
  type VertexJob,
  type VertexJobService,
} from '@bucketml/ports/vertex-training';
import { COURSE_HYPERPARAM_YAML, parseStudyDocument } from '@bucketml/tuning';

/**
 * Vertex AI cannot run here, so what we send it is checked against @google-cloud/aiplatform's
 * own protobuf types, and what it returns is built with the same types in the shape the client
 * hands back (enums as names, longs as strings, defaults filled in).
 */
const P = aiplatform.protos.google.cloud.aiplatform.v1;
const CLIENT_SHAPE = { enums: String, longs: String, defaults: true, oneofs: true };

/**
 * fromObject is how the client turns our plain object into the message (enum names accepted);
 * verify checks the message; fromObject drops unknown fields, so the trip back must be lossless.
 */
function assertMessage(
  type: {
    verify(o: object): string | null;
    fromObject(o: object): object;
    toObject(m: never, o?: object): object;
  },
  object: object,
) {
  const message = type.fromObject(object);
  assert.equal(type.verify(message), null);
  assert.deepEqual(
    type.toObject(message as never, { enums: String, longs: Number }),
    JSON.parse(JSON.stringify(object)),
  );
}

const OPTIONS = {
  project: 'p',
  region: 'us-central1',
  bucket: 'b',
  imageUri: 'us-central1-docker.pkg.dev/p/bucketml/trainer:1',
  serviceAccount: 'bucketml-trainer@p.iam.gserviceaccount.com',
};
const RUN = 'babyweight-0123456789ab';
const study = parseStudyDocument(COURSE_HYPERPARAM_YAML);
const studyRequest = {
  ...study,
  jobId: `${RUN}-study`,
  runId: RUN,
  model: 'babyweight',
  trainData: ['data/babyweight/train.csv'],
  evalData: ['data/babyweight/eval.csv'],
  outputDir: `runs/${RUN}/trials/`,
  seed: 42,
};
const trainingRequest = {
  jobId: `${RUN}-final`,
  runId: RUN,
  model: 'babyweight',
  trainData: ['data/babyweight/train.csv'],
  evalData: ['data/babyweight/eval.csv'],
  args: ['--train_examples=25000'],
  outputDir: `runs/${RUN}/final/`,
  parameters: { batch_size: 64, nembeds: 7, nnsize: 128 },
  seed: 42,
};

/** A job service that keeps created jobs, as Vertex would, for the calls the backend makes. */
function recordingJobService() {
  const created: { kind: string; job: Record<string, any> }[] = [];
  const cancelled: string[] = [];
  const list = (kind: string) => async (r: { filter: string }) => {
    const label = /labels\.bucketml-job="([^"]+)"/.exec(r.filter)![1];
    return [
      created
        .filter((c) => c.kind === kind && c.job.labels['bucketml-job'] === label)
        .map((c) => c.job),
    ] as [VertexJob[]];
  };
  const service = {
    createCustomJob: async (r: { customJob: object }) => (
      created.push({ kind: 'custom', job: r.customJob }),
      [{ name: 'x' }]
    ),
    createHyperparameterTuningJob: async (r: { hyperparameterTuningJob: object }) => (
      created.push({ kind: 'hpt', job: r.hyperparameterTuningJob }),
      [{ name: 'x' }]
    ),
    listCustomJobs: list('custom'),
    listHyperparameterTuningJobs: list('hpt'),
    cancelHyperparameterTuningJob: async (r: { name: string }) => cancelled.push(`hpt ${r.name}`),
    cancelCustomJob: async (r: { name: string }) => cancelled.push(`custom ${r.name}`),
  } as unknown as VertexJobService;
  return { service, created, cancelled };
}

describe('Vertex AI training backend: the requests we send', () => {
  const backend = new VertexTrainingBackend(OPTIONS, recordingJobService().service);

  it('the course study becomes a HyperparameterTuningJob that verifies against the aiplatform protobuf type', () => {
    const request = backend.tuningJobRequest(studyRequest);
    assert.equal(request.parent, 'projects/p/locations/us-central1');
    const job = request.hyperparameterTuningJob;
    assertMessage(P.HyperparameterTuningJob, job);
    assert.deepEqual(job.studySpec.metrics, [{ metricId: 'rmse', goal: 'MINIMIZE' }]);
    assert.deepEqual(job.studySpec.parameters, [
      {
        parameterId: 'batch_size',
        integerValueSpec: { minValue: 8, maxValue: 512 },
        scaleType: 'UNIT_LOG_SCALE',
      },
      {
        parameterId: 'nembeds',
        integerValueSpec: { minValue: 3, maxValue: 30 },
        scaleType: 'UNIT_LINEAR_SCALE',
      },
      {
        parameterId: 'nnsize',
        integerValueSpec: { minValue: 64, maxValue: 512 },
        scaleType: 'UNIT_LOG_SCALE',
      },
    ]);
    assert.deepEqual(job.studySpec.medianAutomatedStoppingSpec, { useElapsedDuration: false });
    assert.equal(job.maxTrialCount, 20);
    assert.equal(job.parallelTrialCount, 5);
    assert.deepEqual(job.labels, {
      'bucketml-run': RUN,
      'bucketml-job': `${RUN}-study`,
      'bucketml-model': 'babyweight',
    });
    const fromSpecFile = backend.tuningJobRequest({
      ...studyRequest,
      model: 'fish',
      specObject: 'config/fish/schema.json',
    }).hyperparameterTuningJob;
    assert.equal(fromSpecFile.labels['bucketml-model'], 'fish');
    const pool = job.trialJobSpec.workerPoolSpecs[0];
    assert.equal(pool.containerSpec.imageUri, OPTIONS.imageUri);
    // The same argv as the local backend (one builder): study args first, backend flags last.
    assert.deepEqual(pool.containerSpec.args, [
      'train',
      '--train_examples=25000',
      '--model',
      'babyweight',
      '--seed',
      '42',
      '--train-data',
      'gs://b/data/babyweight/train.csv',
      '--eval-data',
      'gs://b/data/babyweight/eval.csv',
    ]);
    const specPool = fromSpecFile.trialJobSpec.workerPoolSpecs[0];
    assert.equal(
      specPool.containerSpec.args[specPool.containerSpec.args.indexOf('--model') + 1],
      'gs://b/config/fish/schema.json',
    );
    assert.equal(
      job.trialJobSpec.baseOutputDirectory.outputUriPrefix,
      `gs://b/runs/${RUN}/trials/`,
    );
    assert.equal(job.trialJobSpec.serviceAccount, OPTIONS.serviceAccount);
  });

  it('the final training becomes a CustomJob that verifies, with the best parameters as flags', () => {
    const request = backend.customJobRequest(trainingRequest);
    assertMessage(P.CustomJob, request.customJob);
    const spec = request.customJob.jobSpec;
    assert.deepEqual(spec.workerPoolSpecs[0].containerSpec.args.slice(1, 5), [
      '--train_examples=25000',
      '--batch_size=64',
      '--nembeds=7',
      '--nnsize=128',
    ]);
    // Vertex sets AIP_MODEL_DIR = <base>/model/: the pipeline's final model prefix.
    assert.equal(spec.baseOutputDirectory.outputUriPrefix, `gs://b/runs/${RUN}/final/`);
  });

  it('submitting again finds the job by its label instead of creating another', async () => {
    const { service, created } = recordingJobService();
    const b = new VertexTrainingBackend(OPTIONS, service);
    assert.deepEqual(await b.submitStudy(studyRequest), { jobId: `${RUN}-study`, created: true });
    assert.deepEqual(await b.submitStudy(studyRequest), { jobId: `${RUN}-study`, created: false });
    assert.deepEqual(await b.submitTraining(trainingRequest), {
      jobId: `${RUN}-final`,
      created: true,
    });
    assert.deepEqual(await b.submitTraining(trainingRequest), {
      jobId: `${RUN}-final`,
      created: false,
    });
    assert.deepEqual(
      created.map((c) => c.kind),
      ['hpt', 'custom'],
    );
  });

  it('cancelling finds the job by its label and cancels it by kind; an unknown job is a no-op', async () => {
    const { service, created, cancelled } = recordingJobService();
    const b = new VertexTrainingBackend(OPTIONS, service);
    await b.submitStudy(studyRequest);
    await b.submitTraining(trainingRequest);
    for (const c of created) c.job.name = `projects/p/locations/r/${c.kind}/1`;
    await b.cancelJob(`${RUN}-study`);
    await b.cancelJob(`${RUN}-final`);
    await b.cancelJob('babyweight-ffffffffffff-study');
    assert.deepEqual(cancelled, [
      'hpt projects/p/locations/r/hpt/1',
      'custom projects/p/locations/r/custom/1',
    ]);
  });
});

describe('Vertex AI job completion: log sink entry → job events', () => {
  // A job state-change entry as the sink publishes it (LogEntry JSON, resource type ml_job).
  const logEntry = (jobId: string) => ({
    insertId: '1x2y3z',
    logName: 'projects/p/logs/ml.googleapis.com%2F' + jobId,
    resource: { type: 'ml_job', labels: { job_id: jobId, project_id: 'p', task_name: 'service' } },
    severity: 'INFO',
    textPayload: 'Job completed successfully.',
    timestamp: '2026-11-22T10:00:00.000000Z',
  });
  const pubsubMessage = (entry: object) => ({
    message: { data: Buffer.from(JSON.stringify(entry)).toString('base64'), messageId: '7' },
    subscription: 's',
  });

  const trial = (id: string, batch: number, rmse: number[], state = 'SUCCEEDED') => ({
    id,
    state,
    parameters: [
      { parameterId: 'batch_size', value: { numberValue: batch } },
      { parameterId: 'nembeds', value: { numberValue: 5 } },
      { parameterId: 'nnsize', value: { numberValue: 128 } },
    ],
    measurements: rmse.map((value, i) => ({
      stepCount: String(10 * (i + 1)),
      metrics: [{ metricId: 'rmse', value }],
    })),
    ...(state === 'SUCCEEDED'
      ? {
          finalMeasurement: {
            stepCount: '100',
            metrics: [{ metricId: 'rmse', value: rmse.at(-1) }],
          },
        }
      : { infeasibleReason: 'trainer exited with code 1' }),
    startTime: { seconds: '1795000000', nanos: 0 },
    endTime: { seconds: '1795000042', nanos: 0 },
  });
  const hptJob = P.HyperparameterTuningJob.toObject(
    P.HyperparameterTuningJob.fromObject({
      name: 'projects/p/locations/us-central1/hyperparameterTuningJobs/1234',
      displayName: `${RUN}-study`,
      state: 'JOB_STATE_SUCCEEDED',
      labels: {
        'bucketml-run': RUN,
        'bucketml-job': `${RUN}-study`,
        'bucketml-model': 'babyweight',
      },
      trialJobSpec: { baseOutputDirectory: { outputUriPrefix: `gs://b/runs/${RUN}/trials/` } },
      trials: [
        trial('1', 64, [1.2, 1.07]),
        trial('2', 512, [1.3, 1.09]),
        trial('3', 8, [], 'INFEASIBLE'),
      ],
    }),
    CLIENT_SHAPE,
  ) as VertexJob;
  const customJob = P.CustomJob.toObject(
    P.CustomJob.fromObject({
      name: 'projects/p/locations/us-central1/customJobs/5678',
      displayName: `${RUN}-final`,
      state: 'JOB_STATE_FAILED',
      error: { code: 3, message: 'The replica workerpool0-0 exited with a non-zero status of 1.' },
      labels: {
        'bucketml-run': RUN,
        'bucketml-job': `${RUN}-final`,
        'bucketml-model': 'babyweight',
      },
      jobSpec: { baseOutputDirectory: { outputUriPrefix: `gs://b/runs/${RUN}/final/` } },
    }),
    CLIENT_SHAPE,
  ) as VertexJob;

  function context() {
    const published: object[] = [];
    const notFound = () => Promise.reject(Object.assign(new Error('NOT_FOUND'), { code: 5 }));
    const jobs = {
      getHyperparameterTuningJob: ({ name }: { name: string }) =>
        name.endsWith('/1234') ? Promise.resolve([hptJob]) : notFound(),
      getCustomJob: ({ name }: { name: string }) =>
        name.endsWith('/5678') ? Promise.resolve([customJob]) : notFound(),
    } as unknown as VertexJobService;
    const messaging: Messaging = {
      publish: async (_topic, event) => (published.push(event), String(published.length)),
      close: async () => {},
    };
    const log: Logger = createLogger('vertex-events', { write: () => true } as never);
    return { ctx: { project: 'p', region: 'us-central1', jobs, messaging, log }, published };
  }

  it('a finished tuning job becomes trial.completed events and study.completed, as the local backend emits them', async () => {
    const entry = decodeLogSinkMessage(pubsubMessage(logEntry('1234')));
    assert.equal(jobIdOfLogEntry(entry), '1234');
    const { ctx, published } = context();
    await onVertexLogEntry(ctx, entry);
    const base = { runId: RUN, model: 'babyweight', jobId: `${RUN}-study` };
    assert.deepEqual(published, [
      {
        type: 'trial.completed',
        ...base,
        trialId: '1',
        state: 'SUCCEEDED',
        parameters: { batch_size: 64, nembeds: 5, nnsize: 128 },
        objective: 1.07,
        seconds: 42,
      },
      {
        type: 'trial.completed',
        ...base,
        trialId: '2',
        state: 'SUCCEEDED',
        parameters: { batch_size: 512, nembeds: 5, nnsize: 128 },
        objective: 1.09,
        seconds: 42,
      },
      {
        type: 'trial.completed',
        ...base,
        trialId: '3',
        state: 'FAILED',
        parameters: { batch_size: 8, nembeds: 5, nnsize: 128 },
        seconds: 42,
        error: 'trainer exited with code 1',
      },
      { type: 'study.completed', ...base, state: 'SUCCEEDED' },
    ]);
  });

  it('a failed custom job becomes training.completed FAILED with the reason (no paths: the stage reads them from run state)', async () => {
    const { ctx, published } = context();
    await onVertexLogEntry(ctx, logEntry('5678'));
    assert.deepEqual(published, [
      {
        type: 'training.completed',
        runId: RUN,
        model: 'babyweight',
        jobId: `${RUN}-final`,
        state: 'FAILED',
        error: 'The replica workerpool0-0 exited with a non-zero status of 1.',
      },
    ]);
  });

  it('entries about unknown, unlabelled or running jobs publish nothing', async () => {
    const { ctx, published } = context();
    await onVertexLogEntry(ctx, logEntry('999'));
    await onVertexLogEntry(ctx, { resource: { type: 'cloud_function', labels: {} } });
    assert.equal(
      decodeLogSinkMessage({ message: { data: Buffer.from('not json').toString('base64') } }),
      null,
    );
    assert.deepEqual(published, []);
  });
});
