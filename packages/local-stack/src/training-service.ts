/**
 * @module training-service
 * The embedded default's training backend: a small HTTP service that accepts study and
 * training jobs (idempotently, by job id), runs each trial as a `bucketml train` process with
 * Vertex AI's environment contract (AIP_MODEL_DIR, CLOUD_ML_HP_METRIC_FILE, CLOUD_ML_TRIAL_ID),
 * at most maxParallelTrials at once, with parameters from the tuning engine (Bayesian unless the
 * study asks for grid or random search), and publishes trial/study/training completion events.
 * Job records are persisted, so a restarted service resumes unfinished jobs and republishes
 * completions it had not yet sent. A job that the service stopped running MAX_STARTS times in
 * a row without a trial finishing in between (a job that kills its host) ends FAILED with that
 * reason instead of being resumed, and an unreadable record is set aside: no job record can keep
 * the stack from starting.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import {
  hypertuneValues,
  isJobFinished,
  jobOutput,
  TOPICS,
  trainerArgv,
  trialCompletedEvent,
  type EarlyStopDecision,
  type JobState,
  type Trial,
} from '@bucketml/contracts';
import { Rng } from '@bucketml/model';
import type { Logger } from '@bucketml/pipeline';
import type {
  Messaging,
  StudyJob,
  StudyJobRequest,
  TrainingJob,
  TrainingJobRequest,
} from '@bucketml/ports';
import type { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { stoppingDecision, suggestTrial } from '@bucketml/tuning';
import { leashed, stopGroup } from './leashed.js';
import { TrainerPool, type TrainerRun } from './trainer-pool.js';

/** A job as persisted in stateDir/<jobId>.json. */
interface JobRecord {
  kind: 'study' | 'training';
  request: StudyJobRequest | TrainingJobRequest;
  state: JobState;
  trials: Trial[];
  completionPublished: boolean;
  error?: string;
  /** Set by POST /jobs/<id>/cancel: the job stops its trainers and ends CANCELLED. */
  cancelRequested?: boolean;
  /** Starts of this job in a row with no trial finished in between, and the count at the last. */
  starts?: { inARow: number; finishedTrials: number };
}

/** Starts in a row without progress after which a job is failed instead of resumed. */
const MAX_STARTS = 3;
const CANCELLED = 'cancelled by request';

const isFinished = (r: JobRecord) => isJobFinished(r.state);

export interface TrainingServiceOptions {
  bucket: DirectoryBucket;
  messaging: Messaging;
  log: Logger;
  stateDir: string;
  trainerBin: string;
  /**
   * The warm trainer (`bucketml-worker`): when given, jobs run on a pool of them instead of a
   * `bucketml train` process each (the same verb, flags and environment).
   */
  trainerWorker?: string;
  env?: NodeJS.ProcessEnv;
  /** Most trials at once across a study (default: two per core). */
  maxParallelTrials?: number;
}

/** The local training service; `start` returns the base URL LocalTrainingClient talks to. */
export class LocalTrainingService {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly children = new Set<TrainerRun>();
  /** Each job's running trainers, for cancelling one job. */
  private readonly jobChildren = new Map<string, Set<TrainerRun>>();
  private readonly pool?: TrainerPool;
  private readonly running = new Set<Promise<void>>();
  private readonly writes = new Map<string, Promise<void>>();
  private server?: Server;
  private stopping = false;
  /** Submissions received and jobs actually created (tests check idempotency with these). */
  readonly stats = { submissions: 0, created: 0, maxConcurrentTrials: 0 };
  private activeTrials = 0;
  private readonly capped = new Set<string>();
  /** Jobs loaded at start and launched by resume (once each). */
  private readonly resumed = new Set<string>();

  constructor(private readonly options: TrainingServiceOptions) {
    if (options.trainerWorker)
      this.pool = new TrainerPool(
        options.trainerWorker,
        { ...process.env, ...options.env },
        // As many idle workers as trials may run at once.
        options.maxParallelTrials ?? Math.max(2, 2 * availableParallelism()),
      );
  }

  /**
   * Loads the job records, listens, and (unless `resume: false`) resumes the unfinished jobs.
   * The stack resumes them later, once the topics exist: a resumed trial that ends before
   * then would publish its events to no subscription (the emulator keeps no topics).
   */
  async start(port = 0, options: { resume?: boolean } = {}): Promise<string> {
    await mkdir(this.options.stateDir, { recursive: true });
    for (const file of (await readdir(this.options.stateDir)).filter((f) => f.endsWith('.json'))) {
      const path = join(this.options.stateDir, file);
      const record = await readFile(path, 'utf8')
        .then((text) => JSON.parse(text) as JobRecord)
        .then((r) => (r?.request?.jobId && r.request.runId ? r : undefined))
        .catch(() => undefined);
      if (!record) {
        await rename(path, `${path}.unreadable`);
        this.options.log.event(
          'ERROR',
          `job record ${file} is unreadable: set aside as ${file}.unreadable`,
          {
            stage: 'training-backend',
          },
        );
        continue;
      }
      this.jobs.set(record.request.jobId, record);
    }
    if (options.resume !== false) this.resume();
    this.server = createServer((req, res) => {
      this.route(req)
        .then(([status, body]) => {
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        })
        .catch((err: Error) => res.writeHead(500).end(JSON.stringify({ error: err.message })));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    const address = this.server.address() as { port: number };
    return `http://127.0.0.1:${address.port}`;
  }

  /** Starts every loaded job whose completion is not published yet. */
  resume(): void {
    for (const record of this.jobs.values())
      if (!record.completionPublished && !this.resumed.has(record.request.jobId)) {
        this.resumed.add(record.request.jobId);
        this.launch(record);
      }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const run of this.children) run.stop('SIGKILL');
    this.pool?.stop('SIGKILL');
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
    await Promise.allSettled([...this.running]);
    // A clean stop is no crash: the next start of these jobs does not count against them.
    for (const record of this.jobs.values())
      if (record.starts && !isFinished(record)) {
        record.starts.inARow = 0;
        await this.persist(record);
      }
  }

  /** A job's state, or undefined for a job this service does not know (tests follow jobs with it). */
  jobState(jobId: string): JobState | undefined {
    return this.jobs.get(jobId)?.state;
  }

  private async route(req: IncomingMessage): Promise<[number, unknown]> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'POST' && (url.pathname === '/studies' || url.pathname === '/trainings')) {
      const request = JSON.parse(await readBody(req)) as StudyJobRequest | TrainingJobRequest;
      return [200, await this.submit(url.pathname === '/studies' ? 'study' : 'training', request)];
    }
    const cancel = /^\/jobs\/([^/]+)\/cancel$/.exec(url.pathname);
    if (req.method === 'POST' && cancel)
      return [200, await this.cancel(decodeURIComponent(cancel[1]))];
    const training = /^\/trainings\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && training) {
      const record = this.jobs.get(decodeURIComponent(training[1]));
      if (!record || record.kind !== 'training') return [404, { error: 'no such job' }];
      const job: TrainingJob = {
        jobId: record.request.jobId,
        state: record.state,
        ...(record.error ? { error: record.error } : {}),
      };
      return [200, job];
    }
    const m = /^\/studies\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      const record = this.jobs.get(decodeURIComponent(m[1]));
      if (!record) return [404, { error: 'no such job' }];
      const job: StudyJob = {
        jobId: record.request.jobId,
        runId: record.request.runId,
        state: record.state,
        trials: record.trials,
        error: record.error,
      };
      return [200, job];
    }
    return [404, { error: `no route ${req.method} ${url.pathname}` }];
  }

  /** Marks the job cancelled (persisted, so a restart honours it) and stops its trainers. */
  private async cancel(jobId: string): Promise<{ jobId: string; cancelling: boolean }> {
    const record = this.jobs.get(jobId);
    if (!record || isFinished(record)) return { jobId, cancelling: false };
    record.cancelRequested = true;
    await this.persist(record);
    this.options.log.event('NOTICE', `job ${jobId} cancelled: stopping its trainers`, {
      runId: record.request.runId,
      stage: 'training-backend',
    });
    for (const run of this.jobChildren.get(jobId) ?? []) run.stop('SIGTERM');
    return { jobId, cancelling: true };
  }

  private async submit(kind: JobRecord['kind'], request: StudyJobRequest | TrainingJobRequest) {
    this.stats.submissions++;
    if (!request.jobId || !request.runId) throw new Error('jobId and runId are required');
    if (this.jobs.has(request.jobId)) return { jobId: request.jobId, created: false };
    const record: JobRecord = {
      kind,
      request,
      state: 'QUEUED',
      trials: [],
      completionPublished: false,
    };
    this.jobs.set(request.jobId, record);
    await this.persist(record);
    this.stats.created++;
    this.options.log.event('INFO', `${kind} job ${request.jobId} queued`, {
      runId: request.runId,
      stage: 'training-backend',
      jobId: request.jobId,
    });
    this.launch(record);
    return { jobId: request.jobId, created: true };
  }

  private launch(record: JobRecord): void {
    const p = this.startJob(record)
      .catch(async (err: Error) => {
        if (this.stopping) return;
        // A job whose runner failed ends FAILED, as a Vertex job would; the pipeline is told.
        this.options.log.event('ERROR', `job ${record.request.jobId} crashed: ${err.message}`, {
          runId: record.request.runId,
          stage: 'training-backend',
        });
        Object.assign(record, { state: 'FAILED', error: `training backend error: ${err.message}` });
        await this.persist(record);
        await this.publishCompletion(record);
      })
      .catch(() => undefined)
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Counts the start and runs the job, unless it has already been started MAX_STARTS times. */
  private async startJob(record: JobRecord): Promise<void> {
    if (!isFinished(record)) {
      const finishedTrials = record.trials.filter((t) => t.state !== 'ACTIVE').length;
      const progressed = !record.starts || finishedTrials > record.starts.finishedTrials;
      record.starts = { inARow: progressed ? 1 : record.starts!.inARow + 1, finishedTrials };
      if (record.starts.inARow > MAX_STARTS) {
        Object.assign(record, {
          state: 'FAILED',
          error: `not resumed: the training service stopped ${MAX_STARTS} times in a row while running this job, with no trial finished in between`,
        });
        this.options.log.event('ERROR', `job ${record.request.jobId} failed: ${record.error}`, {
          runId: record.request.runId,
          stage: 'training-backend',
        });
      }
      await this.persist(record);
    }
    await (record.kind === 'study' ? this.runStudy(record) : this.runTraining(record));
  }

  private async publishCompletion(record: JobRecord): Promise<void> {
    const request = record.request;
    const state = record.state === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED';
    const event = {
      type: record.kind === 'study' ? 'study.completed' : 'training.completed',
      runId: request.runId,
      model: request.model,
      jobId: request.jobId,
      state,
      error: record.error,
    };
    await this.options.messaging.publish(TOPICS.jobEvents, event, {
      runId: request.runId,
      type: event.type,
    });
    record.completionPublished = true;
    await this.persist(record);
  }

  private async runStudy(record: JobRecord): Promise<void> {
    const request = record.request as StudyJobRequest;
    if (!isFinished(record)) {
      record.state = 'RUNNING';
      // Trials that were running when the service stopped run again with the same parameters.
      const active = new Map<string, Promise<void>>();
      const { params } = request;
      const failedTooMany = () =>
        request.maxFailedTrials > 0 &&
        record.trials.filter((t) => t.state === 'FAILED').length > request.maxFailedTrials;
      const start = (trial: Trial) => {
        const p = this.runTrial(record, trial).finally(() => active.delete(trial.id));
        active.set(trial.id, p);
      };
      if (!record.cancelRequested)
        for (const t of record.trials.filter((t) => t.state === 'ACTIVE')) start(t);
      while (!this.stopping) {
        while (
          !record.cancelRequested &&
          active.size < this.parallelTrials(request) &&
          record.trials.length < request.maxTrials &&
          !failedTooMany()
        ) {
          const id = String(record.trials.length + 1);
          // The engine sees every trial so far, running ones included (the constant liar).
          const parameters = suggestTrial(
            { params, goal: request.goal, algorithm: request.algorithm },
            record.trials,
            new Rng(request.seed * 7919 + Number(id)),
            request.warmStartFrom?.trials,
          );
          const trial: Trial = {
            id,
            state: 'ACTIVE',
            parameters,
            modelPrefix: jobOutput.modelDir(jobOutput.trialDir(request.outputDir, id)),
            startTime: new Date().toISOString(),
          };
          record.trials.push(trial);
          await this.persist(record);
          start(trial);
        }
        if (active.size === 0) break;
        await Promise.race(active.values());
      }
      if (this.stopping) return;
      const succeeded = record.trials.some((t) => t.state === 'SUCCEEDED');
      record.state = succeeded && !failedTooMany() ? 'SUCCEEDED' : 'FAILED';
      if (record.cancelRequested) Object.assign(record, { state: 'CANCELLED', error: CANCELLED });
      else if (record.state === 'FAILED')
        record.error = failedTooMany()
          ? `more than ${request.maxFailedTrials} trials failed`
          : 'no trial succeeded';
      await this.persist(record);
    }
    await this.publishCompletion(record);
  }

  /**
   * Trials at once: the study's maxParallelTrials, capped by what this machine can run (two per
   * core): a study asking for 24 on 2 cores runs 4 at a time, and says so once.
   */
  private parallelTrials(request: StudyJobRequest): number {
    const cap = this.options.maxParallelTrials ?? Math.max(2, 2 * availableParallelism());
    if (request.maxParallelTrials > cap && !this.capped.has(request.jobId)) {
      this.capped.add(request.jobId);
      this.options.log.event(
        'NOTICE',
        `study ${request.jobId} asks for ${request.maxParallelTrials} parallel trials; this machine runs ${cap} at a time`,
        {
          runId: request.runId,
          stage: 'training-backend',
        },
      );
    }
    return Math.min(request.maxParallelTrials, cap);
  }

  private async runTrial(record: JobRecord, trial: Trial): Promise<void> {
    const request = record.request as StudyJobRequest;
    this.activeTrials++;
    this.stats.maxConcurrentTrials = Math.max(this.stats.maxConcurrentTrials, this.activeTrials);
    try {
      const dir = jobOutput.trialDir(request.outputDir, trial.id);
      const metricFile = this.options.bucket.pathOf(jobOutput.metricFile(dir));
      // The reader never loses values it has seen (a file caught mid-replace reads shorter).
      let seen: number[] = [];
      const measurements = async () => {
        const values = await readMetrics(metricFile, request.metricTag);
        if (values.length >= seen.length) seen = values;
        return seen;
      };
      // Median rule against the trials already finished (succeeded or stopped).
      const finished = () =>
        record.trials
          .filter((t) => (t.state === 'SUCCEEDED' || t.state === 'STOPPED') && t.measurements)
          .map((t) => t.measurements!);
      // The first decision to stop is the one acted on: its numbers go with the trial.
      const stop: { decision?: EarlyStopDecision | null } = {};
      const shouldStop = request.enableTrialEarlyStopping
        ? async () =>
            (stop.decision ??= stoppingDecision(await measurements(), finished(), request.goal)) !==
            null
        : undefined;
      const result = await this.train(
        request,
        trial.parameters,
        dir,
        { CLOUD_ML_HP_METRIC_FILE: metricFile, CLOUD_ML_TRIAL_ID: trial.id },
        shouldStop,
      );
      trial.measurements = await measurements();
      const objective = trial.measurements.at(-1);
      if (result.ok || result.stopped) {
        if (objective === undefined)
          Object.assign(trial, {
            state: 'FAILED',
            error: `no "${request.metricTag}" metric reported`,
          });
        else
          Object.assign(trial, {
            state: result.ok ? 'SUCCEEDED' : 'STOPPED',
            objective,
            ...(!result.ok && stop.decision ? { earlyStop: stop.decision } : {}),
          });
      } else
        Object.assign(trial, {
          state: 'FAILED',
          error: record.cancelRequested ? CANCELLED : result.error,
        });
    } finally {
      this.activeTrials--;
    }
    if (this.stopping) return;
    trial.endTime = new Date().toISOString();
    await this.persist(record);
    const event = trialCompletedEvent(
      { runId: request.runId, model: request.model, jobId: request.jobId },
      trial,
    );
    await this.options.messaging.publish(TOPICS.jobEvents, event, {
      runId: request.runId,
      type: event.type,
    });
  }

  private async runTraining(record: JobRecord): Promise<void> {
    const request = record.request as TrainingJobRequest;
    if (!isFinished(record)) {
      record.state = 'RUNNING';
      const result = record.cancelRequested
        ? undefined
        : await this.train(request, request.parameters, request.outputDir, {});
      if (this.stopping) return;
      if (!result || record.cancelRequested)
        Object.assign(record, { state: 'CANCELLED', error: CANCELLED });
      else if (result.ok) record.state = 'SUCCEEDED';
      else Object.assign(record, { state: 'FAILED', error: result.error });
      await this.persist(record);
    }
    await this.publishCompletion(record);
  }

  /** Runs `bucketml train` for a job whose output directory is `dir` (model/, train.log). */
  private async train(
    request: StudyJobRequest | TrainingJobRequest,
    parameters: Record<string, number | string>,
    dir: string,
    env: Record<string, string>,
    shouldStop?: () => Promise<boolean>,
  ): Promise<{ ok: true; stopped?: false } | { ok: false; stopped: boolean; error: string }> {
    if (this.stopping) return { ok: false, stopped: false, error: 'the training service stopped' };
    const { bucket } = this.options;
    const argv = trainerArgv({ ...request, parameters }, (name) => bucket.pathOf(name));
    env = { ...env, AIP_MODEL_DIR: bucket.pathOf(jobOutput.modelDir(dir).slice(0, -1)) };
    const logPath = bucket.pathOf(jobOutput.trainLog(dir));
    await mkdir(join(logPath, '..'), { recursive: true });
    const logFile = createWriteStream(logPath);
    let tail = '';
    const onOutput = (text: string | Buffer) => {
      logFile.write(text);
      tail = (tail + text.toString()).slice(-2000);
    };
    const run = this.pool
      ? this.pool.run({ argv, env }, onOutput)
      : processRun(
          this.options.trainerBin,
          argv,
          { ...process.env, ...this.options.env, ...env },
          onOutput,
        );
    let finished = false;
    void run.done.then(() => (finished = true));
    this.children.add(run);
    const ofJob = this.jobChildren.get(request.jobId) ?? new Set<TrainerRun>();
    this.jobChildren.set(request.jobId, ofJob.add(run));
    // A cancel that came while this trainer was being set up found nothing to stop.
    if (this.jobs.get(request.jobId)?.cancelRequested) run.stop('SIGTERM');
    let stopped = false;
    const poll = shouldStop
      ? setInterval(() => {
          void shouldStop().then(
            (stop) => {
              if (stop && !stopped && !finished) {
                stopped = true;
                run.stop('SIGTERM');
              }
            },
            () => undefined,
          );
        }, 200)
      : undefined;
    const code = await run.done;
    clearInterval(poll);
    this.children.delete(run);
    ofJob.delete(run);
    if (ofJob.size === 0) this.jobChildren.delete(request.jobId);
    logFile.end();
    if (stopped) return { ok: false, stopped: true, error: 'stopped early (median rule)' };
    if (code === 0) return { ok: true };
    const lastLine =
      tail
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('training'))
        .at(-1) ?? '';
    return { ok: false, stopped: false, error: `bucketml train exited with ${code}: ${lastLine}` };
  }

  /** Saves a job record; writes of one job are queued so the last state always lands last. */
  private persist(record: JobRecord): Promise<void> {
    const path = join(this.options.stateDir, `${record.request.jobId}.json`);
    const previous = this.writes.get(path) ?? Promise.resolve();
    const next = previous.then(async () => {
      const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, JSON.stringify(record));
      await rename(tmp, path);
    });
    this.writes.set(
      path,
      next.catch(() => undefined),
    );
    return next;
  }
}

/** The values reported for `tag` in a hypertune metric file, in order. */
async function readMetrics(file: string, tag: string): Promise<number[]> {
  return hypertuneValues(await readFile(file, 'utf8').catch(() => ''), tag);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** A job as a `bucketml train` process of its own (leashed), its output to `onOutput`. */
function processRun(
  trainerBin: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  onOutput: (text: Buffer) => void,
): TrainerRun {
  const child = leashed(process.execPath, [trainerBin, ...argv], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [child.stdout!, child.stderr!]) s.on('data', onOutput);
  return {
    stop: (signal) => stopGroup(child, signal),
    done: new Promise((resolve) => child.on('exit', (c) => resolve(c))),
  };
}
