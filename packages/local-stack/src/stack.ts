/**
 * @module stack
 * The local stack as one object: starts and stops every part of the embedded default in order, and
 * lets tests and tools follow a run to its end or wait for a log event.
 */
import { EventEmitter } from 'node:events';
import { mkdir, readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import {
  dataVersion,
  dropObjects,
  FUNCTIONS,
  functionNamed,
  isTerminal,
  layout,
  parseCancelRequestName,
  parsePageData,
  pushSubscriptions,
  runIdOf,
  type FunctionName,
  type RunPageData,
  type RunRecord,
  type SettingName,
} from '@bucketml/contracts';
import { createLogger, RunStore } from '@bucketml/pipeline';
import { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { PubSubMessaging } from '@bucketml/ports/pubsub';
import { BucketWatcher } from './bucket-watcher.js';
import { FunctionProcess, type FunctionSpec } from './function-process.js';
import { PageServer } from './page-server.js';
import { startPubSubEmulator, type PubSubEmulator } from './pubsub-emulator.js';
import { createTopology } from './topology.js';
import { LocalTrainingService } from './training-service.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI_BIN = join(dirname(createRequire(import.meta.url).resolve('@bucketml/cli')), '../bin');
const TRAINER_BIN = join(CLI_BIN, 'bucketml.js');
/** The warm trainer the local training service runs its jobs on. */
const TRAINER_WORKER = join(CLI_BIN, 'bucketml-worker.js');

export interface LogLine {
  source: string;
  raw: string;
  /** The parsed structured event, when the line is one. */
  event?: Record<string, unknown> & {
    severity?: string;
    message?: string;
    runId?: string;
    stage?: string;
  };
}

export interface LocalStackOptions {
  bucketDir: string;
  projectId?: string;
  predictPort?: number;
  /** The port the bucket's pages are served on (0 or unset: any free port). */
  pagesPort?: number;
  settleMs?: number;
  /** Extra environment for the function processes (fault injection, duplicate publishing). */
  functionEnv?: Record<string, string>;
  duplicateStorageEvents?: number;
  onLog?: (line: LogLine) => void;
}

/** The functions the local stack runs: every registered one that is not cloud-only. */
export type LocalFunctionName = Exclude<FunctionName, 'vertex-events'>;
const LOCAL_FUNCTIONS = FUNCTIONS.filter((f) => !('cloudOnly' in f && f.cloudOnly)).map(
  (f) => f.name as LocalFunctionName,
);

/**
 * The embedded default, assembled: the Pub/Sub emulator with topics and push subscriptions,
 * the four functions as functions-framework processes, the bucket directory watcher standing
 * in for Eventarc, and the local training service standing in for Vertex AI.
 */
export class LocalStack extends EventEmitter {
  readonly logs: LogLine[] = [];
  functions!: Record<LocalFunctionName, FunctionProcess>;
  training!: LocalTrainingService;
  bucket!: DirectoryBucket;
  private emulator?: PubSubEmulator;
  private watcher?: BucketWatcher;
  private cancelWatcher?: BucketWatcher;
  private batchWatcher?: BucketWatcher;
  private messaging?: PubSubMessaging;
  private pages?: PageServer;
  /** Where the bucket's pages are served: <pagesUrl>/runs/<runId>/, <pagesUrl>/models/<model>/. */
  pagesUrl = '';

  constructor(readonly options: LocalStackOptions) {
    super();
  }

  get predictUrl(): string {
    return this.functions.predict.url;
  }

  /** The Pub/Sub emulator (host:port) and the project its topics are in, for a subscriber. */
  get pubsub(): { host: string; projectId: string } {
    return { host: this.emulator!.host, projectId: this.options.projectId ?? 'bucketml-local' };
  }

  async start(): Promise<void> {
    const o = this.options;
    const projectId = o.projectId ?? 'bucketml-local';
    await mkdir(o.bucketDir, { recursive: true });
    this.bucket = new DirectoryBucket(o.bucketDir);
    this.pages = new PageServer(this.bucket);
    this.pagesUrl = await this.pages.start(o.pagesPort ?? 0);

    this.emulator = await startPubSubEmulator(await freePort());
    process.env.PUBSUB_EMULATOR_HOST = this.emulator.host;
    // No GCE metadata server here: stop Google's auth library from probing for one.
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    this.messaging = new PubSubMessaging(projectId);

    const trainingLog = createLogger('training-backend', this.lineSink('training-backend'));
    this.training = new LocalTrainingService({
      bucket: this.bucket,
      messaging: this.messaging,
      log: trainingLog,
      stateDir: join(this.bucket.root, '.training-jobs'),
      trainerBin: TRAINER_BIN,
      trainerWorker: TRAINER_WORKER,
    });
    // Its unfinished jobs resume once the topology exists (below).
    const trainingUrl = await this.training.start(0, { resume: false });

    // The functions' settings, by the names the registry declares.
    const settings: Partial<Record<SettingName, string>> = {
      BUCKETML_BUCKET: this.bucket.root,
      BUCKETML_TRAINING_URL: trainingUrl,
      BUCKETML_SETTLE_MS: String(o.settleMs ?? 2000),
      BUCKETML_REVALIDATE_MS: '500',
    };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...settings,
      GOOGLE_CLOUD_PROJECT: projectId,
      PUBSUB_EMULATOR_HOST: this.emulator.host,
      ...o.functionEnv,
    };
    const fns = {} as Record<LocalFunctionName, FunctionProcess>;
    for (const name of LOCAL_FUNCTIONS) {
      const { entryPoint, signatureType } = functionNamed(name);
      const spec: FunctionSpec = {
        name,
        source: join(ROOT, 'functions', name),
        target: entryPoint,
        signatureType,
        port: 0,
      };
      spec.port = (name === 'predict' && o.predictPort) || (await freePort()); // 0 or unset: any free port
      fns[name] = new FunctionProcess(spec, env, (fn, line) => this.line(fn, line));
      fns[name].start();
    }
    this.functions = fns;
    await Promise.all(Object.values(fns).map((f) => f.ready()));

    await createTopology(
      projectId,
      pushSubscriptions({ includeCloudOnly: false }).map((s) => ({
        subscription: s.subscription,
        topic: s.topic,
        url: fns[s.fn as LocalFunctionName].url,
      })),
    );
    this.training.resume(); // resumed jobs publish to the topics just made

    const logDelivery = (name: string, status: number | string) =>
      this.line(
        'eventarc',
        JSON.stringify({
          severity: status === 200 || status === 204 ? 'DEBUG' : 'WARNING',
          component: 'eventarc',
          message: `storage event for ${name}: ${status}`,
        }),
      );
    const storageTrigger = (prefix: string) =>
      new BucketWatcher(this.bucket, {
        bucketName: basename(this.bucket.root),
        prefix,
        targetUrl: fns['data-upload'].url,
        duplicate: o.duplicateStorageEvents ?? 1,
        onDelivery: logDelivery,
      });
    this.watcher = storageTrigger(
      (functionNamed('data-upload').trigger as { prefix: string }).prefix,
    );
    await this.watcher.start();
    // Batch inputs (predict/<model>/…) reach data-upload too, as in the cloud, where the one
    // storage trigger gets every object; predictions/, which the job writes, is not watched.
    this.batchWatcher = storageTrigger(layout.batchInputRoot);
    await this.batchWatcher.start();
    // Cancel requests (runs/<runId>/cancel.json) reach data-upload as in the cloud, where the
    // bucket's trigger announces every object: one stat per run, not a walk of every trial's
    // files; those written while the stack was down are announced at start.
    const bucket = this.bucket;
    this.cancelWatcher = new BucketWatcher(bucket, {
      bucketName: basename(bucket.root),
      prefix: layout.runsRoot,
      list: async () => {
        const runIds = await readdir(bucket.pathOf('runs')).catch(() => [] as string[]);
        const names = runIds.map(layout.cancelRequest).filter((n) => parseCancelRequestName(n));
        const found = await Promise.all(names.map((n) => bucket.stat(n)));
        return found.filter((o) => o !== null);
      },
      announceExisting: true,
      pollMs: 1000,
      targetUrl: fns['data-upload'].url,
    });
    await this.cancelWatcher.start();
  }

  async stop(): Promise<void> {
    await this.watcher?.stop();
    await this.cancelWatcher?.stop();
    await this.batchWatcher?.stop();
    await this.training?.stop();
    await Promise.all(Object.values(this.functions ?? {}).map((f) => f.stop()));
    await this.messaging?.close();
    await this.emulator?.stop();
    await this.pages?.stop();
  }

  /** The run id the model's data folder maps to now (as data-upload derives it once it settles). */
  async runIdOfDrop(model: string): Promise<string> {
    return runIdOf(
      model,
      dataVersion(dropObjects(model, await this.bucket.list(layout.dataPrefix(model)))),
    );
  }

  /**
   * Follows a run through its state in the bucket (run.json), not its log text: resolves with
   * the run once it has ended (deployed, rejected or failed).
   */
  async waitForRun(runId: string, timeoutMs: number): Promise<RunRecord> {
    const runs = new RunStore(this.bucket);
    return pollUntil(
      async () => (await runs.get(runId))?.run ?? null,
      (run) => isTerminal(run.state),
      (run) => `run ${runId} to end (it is ${run?.state ?? 'not created yet'})`,
      timeoutMs,
    );
  }

  /**
   * Resolves with the run page's data once it shows the run ended: the stage that ended the run
   * rewrites the page just after, so a caller that stops the stack at the run's end (npm start
   * --once, tests) waits for it.
   */
  async waitForRunPage(runId: string, timeoutMs: number): Promise<RunPageData> {
    return pollUntil(
      async () => {
        const obj = await this.bucket.read(layout.runPageData(runId));
        return obj ? parsePageData<RunPageData>(obj.data.toString('utf8')) : null;
      },
      (page) => page.terminal,
      (page) =>
        `the page of run ${runId} to show its end (it shows ${page?.state ?? 'nothing yet'})`,
      timeoutMs,
    );
  }

  private line(source: string, raw: string): void {
    let event: LogLine['event'];
    if (raw.startsWith('{')) {
      try {
        event = JSON.parse(raw);
      } catch {
        /* not a structured event */
      }
    }
    const entry: LogLine = { source, raw, event };
    this.logs.push(entry);
    this.options.onLog?.(entry);
    this.emit('log', entry);
  }

  private lineSink(source: string): Writable {
    let buffer = '';
    return new Writable({
      write: (chunk, _enc, done) => {
        buffer += chunk.toString();
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          this.line(source, buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
        done();
      },
    });
  }
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const stack = new LocalStack(options);
  try {
    await stack.start();
  } catch (err) {
    await stack.stop().catch(() => undefined);
    throw err;
  }
  return stack;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePromise(port));
    });
  });
}

/**
 * Reads every 200 ms until `done` holds for what `read` returns; past `timeoutMs`, an error
 * saying what was awaited and what was last seen.
 */
async function pollUntil<T>(
  read: () => Promise<T | null>,
  done: (value: T) => boolean,
  awaited: (last: T | null) => string,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== null && done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${awaited(value)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
