/**
 * Shared pieces of the unit tests: a pipeline context on the in-memory ports, a logger that
 * keeps its events, slices of the shipped babyweight data, two small real models trained in
 * this process, simulated crashes, and helpers that drive a run to a given state through the
 * stages themselves (so each stage is tested on the state its predecessor really leaves).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  TOPICS,
  type ModelCandidateEvent,
  type RunFinishedEvent,
  type RunRecord,
  type ServingPointer,
  type TrainingCompletedEvent,
} from '@bucketml/contracts';
import {
  BUILTIN_SPECS,
  MODEL_FILE,
  serializeModel,
  WEIGHTS_FILE,
  type DataSource,
} from '@bucketml/model';
import {
  createLogger,
  onJobEvent,
  onObjectFinalized,
  RunStore,
  type PipelineContext,
} from '@bucketml/pipeline';
import type {
  Storage,
  StudyJob,
  StudyJobRequest,
  Trial,
  TrainingJobRequest,
} from '@bucketml/ports';
import { FakeTrainingBackend, MemoryBucket, MemoryMessaging } from '@bucketml/ports/testing';
import { loadTrainingEngine, trainModel } from '@bucketml/trainer';

export const MODEL = 'babyweight';
const DATA = join(import.meta.dirname, '../../data');

/** A valid babyweight instance for the predict API. */
export const BABY = {
  is_male: 'True',
  mother_age: 26,
  plurality: 'Single(1)',
  gestation_weeks: 39,
};

/** The bucket layout of docs/architecture.md, as the tests expect to find it. */
export const paths = {
  train: `data/${MODEL}/train.csv`,
  eval: `data/${MODEL}/eval.csv`,
  hyperparam: `config/${MODEL}/hyperparam.yaml`,
  run: (runId: string) => `runs/${runId}/run.json`,
  report: (runId: string) => `runs/${runId}/report.json`,
  reportText: (runId: string) => `runs/${runId}/report.txt`,
  versionPrefix: (version: string) => `models/${MODEL}/${version}/`,
  pointer: `models/${MODEL}/serving.json`,
  modelsPage: `models/${MODEL}/index.html`,
  modelsPageData: `models/${MODEL}/page.json`,
  history: `models/${MODEL}/history.jsonl`,
};

// ---- logs ----

export interface LogEvent {
  severity: string;
  message: string;
  component?: string;
  runId?: string;
  model?: string;
  stage?: string;
  [field: string]: unknown;
}

/** The real structured logger, writing into an array instead of stdout. */
export function capturingLogger(component = 'test') {
  const events: LogEvent[] = [];
  const sink = {
    write: (line: string) => (events.push(JSON.parse(line)), true),
  } as unknown as NodeJS.WritableStream;
  return { log: createLogger(component, sink), events };
}

// ---- the context ----

export interface Harness {
  ctx: PipelineContext;
  bucket: MemoryBucket;
  messaging: MemoryMessaging;
  training: FakeTrainingBackend;
  logs: LogEvent[];
}

export function harness(options: { settleMs?: number } = {}): Harness {
  const bucket = new MemoryBucket();
  const messaging = new MemoryMessaging();
  const training = new FakeTrainingBackend();
  const { log, events } = capturingLogger();
  const ctx: PipelineContext = {
    storage: bucket,
    messaging,
    training,
    log,
    runs: new RunStore(bucket),
    settleMs: options.settleMs ?? 0,
    seed: 42,
    crashPoint: () => undefined,
  };
  return { ctx, bucket, messaging, training, logs: events };
}

/** What a simulated crash throws: the process "died" at `point`. */
export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
  constructor(readonly point: string) {
    super(`simulated crash at ${point}`);
  }
}

/**
 * The same context, but it "crashes" (throws SimulatedCrash) the first time it reaches each of
 * `points`; every point reached is recorded in `reached`.
 */
export function crashing(
  ctx: PipelineContext,
  ...points: string[]
): PipelineContext & { reached: string[] } {
  const pending = new Set(points);
  const reached: string[] = [];
  return {
    ...ctx,
    reached,
    crashPoint(point: string) {
      reached.push(point);
      if (pending.delete(point)) throw new SimulatedCrash(point);
    },
  };
}

// ---- data ----

/** The first `rows` lines of a shipped babyweight CSV. */
export function babyweightCsv(file: 'train.csv' | 'eval.csv', rows: number): string {
  return (
    readFileSync(join(DATA, MODEL, file), 'utf8')
      .split('\n')
      .slice(0, rows)
      .join('\n') + '\n'
  );
}

export const TRAIN_CSV = babyweightCsv('train.csv', 400);
export const EVAL_CSV = babyweightCsv('eval.csv', 200);

/** Drops the two CSVs as a user's upload would (already settled); returns their finalized events. */
export function drop(
  bucket: MemoryBucket,
  files: Record<string, string> = { [paths.train]: TRAIN_CSV, [paths.eval]: EVAL_CSV },
) {
  return Object.entries(files).map(([name, data]) => ({
    bucket: bucket.bucketName,
    name,
    generation: bucket.put(name, data),
  }));
}

const source = (name: string, text: string): DataSource => ({
  name,
  open: async () => Readable.from([Buffer.from(text)]),
});

// ---- models ----

export interface ModelFiles {
  modelJson: Buffer;
  weightsBin: Buffer;
  rmse: number;
}

let models: Promise<{ good: ModelFiles; poor: ModelFiles }> | undefined;

/**
 * Two real babyweight models trained here on the data slices (about a second each): `good`
 * (2,000 examples) and `poor` (three batches of 16), whose eval RMSE is clearly worse.
 */
export function trainedModels(): Promise<{ good: ModelFiles; poor: ModelFiles }> {
  models ??= (async () => {
    const tensorflow = await loadTrainingEngine();
    const spec = BUILTIN_SPECS[MODEL];
    const train = async (trainExamples: number, batchSize: number): Promise<ModelFiles> => {
      const { model } = await trainModel({
        spec,
        train: [source(paths.train, TRAIN_CSV)],
        eval: [source(paths.eval, EVAL_CSV)],
        hyperparameters: { ...spec.hyperparameters, trainExamples, batchSize },
        seed: 7,
        tensorflow,
      });
      return { ...serializeModel(model), rmse: model.meta.metrics.rmse! };
    };
    const good = await train(2000, 64);
    const poor = await train(48, 16);
    if (!(poor.rmse > good.rmse * 1.2))
      throw new Error(
        `fixture: the poor model (${poor.rmse}) is not clearly worse than the good one (${good.rmse})`,
      );
    return { good, poor };
  })();
  return models;
}

/** Writes a model directory as the trainer does: weights first, model.json last. */
export async function writeModel(
  storage: Storage,
  prefix: string,
  files: ModelFiles,
): Promise<void> {
  await storage.write(prefix + WEIGHTS_FILE, files.weightsBin);
  await storage.write(prefix + MODEL_FILE, files.modelJson);
}

/** A version deployed as the deploy stage leaves it: its files, then the serving pointer. */
export async function deployVersion(
  storage: Storage,
  version: string,
  files: ModelFiles,
  options: { ifGenerationMatch?: string } = {},
): Promise<ServingPointer> {
  const prefix = paths.versionPrefix(version);
  await writeModel(storage, prefix, files);
  const pointer: ServingPointer = {
    model: MODEL,
    version,
    prefix,
    metric: 'rmse',
    value: files.rmse,
    runId: version,
    deployedAt: new Date().toISOString(),
  };
  await storage.write(paths.pointer, JSON.stringify(pointer), options);
  return pointer;
}

// ---- driving a run through the stages ----

export { TOPICS };

export const runOf = (bucket: MemoryBucket, runId: string) =>
  bucket.json<RunRecord>(paths.run(runId));

/** The one study the backend holds. */
export function onlyStudy(training: FakeTrainingBackend): StudyJobRequest {
  const all = [...training.studies.values()];
  if (all.length !== 1) throw new Error(`expected one study job, found ${all.length}`);
  return all[0];
}

export function onlyTraining(training: FakeTrainingBackend): TrainingJobRequest {
  const all = [...training.trainings.values()];
  if (all.length !== 1) throw new Error(`expected one training job, found ${all.length}`);
  return all[0];
}

/** The folder a training job's model lands in: <output dir>model/ (Vertex's AIP_MODEL_DIR). */
export const modelDirOf = (request: TrainingJobRequest) => `${request.outputDir}model/`;

/** A drop, through data-upload: the run is tuning. */
export async function toTuning(h: Harness): Promise<string> {
  for (const e of drop(h.bucket)) await onObjectFinalized(h.ctx, e);
  const study = onlyStudy(h.training);
  if (runOf(h.bucket, study.runId)?.state !== 'tuning')
    throw new Error('fixture: the run did not reach tuning');
  return study.runId;
}

export const TRIALS: Trial[] = [
  {
    id: '1',
    state: 'SUCCEEDED',
    parameters: { batch_size: 64, nembeds: 5, nnsize: 128 },
    objective: 1.21,
  },
  {
    id: '2',
    state: 'SUCCEEDED',
    parameters: { batch_size: 256, nembeds: 8, nnsize: 64 },
    objective: 1.08,
  },
  {
    id: '3',
    state: 'FAILED',
    parameters: { batch_size: 8, nembeds: 3, nnsize: 512 },
    error: 'trainer exited with code 1',
  },
  {
    id: '4',
    state: 'STOPPED',
    parameters: { batch_size: 16, nembeds: 4, nnsize: 256 },
    objective: 1.4,
  },
];

/** The backend's answer for the run's study, finished with `trials`. */
export function finishStudy(
  h: Harness,
  runId: string,
  trials: Trial[] = TRIALS,
  state: StudyJob['state'] = 'SUCCEEDED',
): StudyJob {
  const job: StudyJob = { jobId: `${runId}-study`, runId, state, trials };
  h.training.setStudy(job);
  return job;
}

export const studyCompleted = (runId: string, state: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED') => ({
  type: 'study.completed' as const,
  runId,
  model: MODEL,
  jobId: `${runId}-study`,
  state,
});

/** Through job-completed's study step: the run is final-training. */
export async function toFinalTraining(h: Harness): Promise<string> {
  const runId = await toTuning(h);
  finishStudy(h, runId);
  await onJobEvent(h.ctx, studyCompleted(runId));
  if (runOf(h.bucket, runId)?.state !== 'final-training')
    throw new Error('fixture: the run did not reach final-training');
  return runId;
}

export const trainingCompleted = (
  runId: string,
  state: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED',
): TrainingCompletedEvent => ({
  type: 'training.completed',
  runId,
  model: MODEL,
  jobId: `${runId}-final`,
  state,
});

/**
 * Through the final training (its model written where the job's output goes) and
 * job-completed's training step: the run is gating; returns the candidate event it published.
 */
export async function toGating(h: Harness, candidate: ModelFiles) {
  const runId = await toFinalTraining(h);
  await writeModel(h.bucket, modelDirOf(onlyTraining(h.training)), candidate);
  await onJobEvent(h.ctx, trainingCompleted(runId));
  const [event] = h.messaging.take<ModelCandidateEvent>(TOPICS.modelCandidates);
  if (!event || runOf(h.bucket, runId)?.state !== 'gating')
    throw new Error('fixture: the run did not reach gating');
  return { runId, event };
}

/** A Pub/Sub push as functions-framework hands it to a function (CloudEvent data). */
export function pubsubPush(event: unknown) {
  const data = typeof event === 'string' ? event : JSON.stringify(event);
  return {
    message: { data: Buffer.from(data).toString('base64'), messageId: '1', attributes: {} },
    subscription: 'projects/p/subscriptions/s',
  };
}

/** The run.finished events published for a run. */
export const finished = (h: Harness, runId: string) =>
  h.messaging.published<RunFinishedEvent>(TOPICS.runOutcomes).filter((e) => e.runId === runId);

/** A bucket's whole content with generations: equal snapshots mean nothing was written. */
export function snapshot(bucket: MemoryBucket): Record<string, string> {
  return Object.fromEntries(bucket.names().map((n) => [n, bucket.generationOf(n)!]));
}
