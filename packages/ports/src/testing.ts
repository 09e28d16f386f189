/**
 * @module testing
 * In-memory fakes of the ports, for fast unit tests of the pipeline's stages: a bucket, a
 * message bus and a training backend that live in one process and record what was done to
 * them. They keep the ports' contracts (generations, preconditions, idempotent job
 * submission), so a stage behaves against them as against the real adapters; a few hooks
 * inject faults. No Google Cloud imports: loading this entry point loads no client library.
 */
import { Readable } from 'node:stream';
import type { Messaging } from './messaging.js';
import { checkObjectName, PreconditionFailedError } from './storage.js';
import type { ObjectInfo, Storage, StoredObject, WriteOptions } from './storage.js';
import type {
  StudyJob,
  TrainingJob,
  StudyJobRequest,
  TrainingBackend,
  TrainingJobRequest,
} from './training-backend.js';

interface MemoryObject {
  data: Buffer;
  generation: string;
  updated: Date;
}

/** Runs before a write is applied; may write itself (the hook is removed first) or throw to fail it. */
export type WriteHook = (name: string) => void | Promise<void>;

/**
 * A bucket in a Map. Every write takes the next value of one counter as its generation, so
 * generations strictly increase per object (and across the bucket); a conditional write checks
 * and applies without yielding, so compare-and-swap is atomic. Each call yields once first, so
 * concurrent callers interleave as they would against a service.
 */
export class MemoryBucket implements Storage {
  readonly uri: string;
  private readonly objects = new Map<string, MemoryObject>();
  private readonly hooks = new Map<string, WriteHook>();
  private readonly readCounts = new Map<string, number>();
  private readonly writeCounts = new Map<string, number>();
  private nextGeneration = 1_000_000n;

  constructor(readonly bucketName = 'memory') {
    this.uri = `memory://${bucketName}/`;
  }

  uriOf(name: string): string {
    return this.uri + checkObjectName(name);
  }

  async stat(name: string): Promise<ObjectInfo | null> {
    checkObjectName(name);
    await tick();
    const o = this.objects.get(name);
    return o ? info(name, o) : null;
  }

  async read(name: string): Promise<StoredObject | null> {
    checkObjectName(name);
    await tick();
    const o = this.objects.get(name);
    if (!o) return null;
    count(this.readCounts, name);
    return { ...info(name, o), data: Buffer.from(o.data) };
  }

  async openRead(name: string): Promise<NodeJS.ReadableStream> {
    checkObjectName(name);
    await tick();
    const o = this.objects.get(name);
    if (!o)
      throw Object.assign(new Error(`${this.uri}${name}: no such object`), { code: 'ENOENT' });
    count(this.readCounts, name);
    return Readable.from([Buffer.from(o.data)]);
  }

  async write(name: string, data: Buffer | string, options: WriteOptions = {}): Promise<string> {
    checkObjectName(name);
    await tick();
    const hook = this.hooks.get(name);
    if (hook) {
      this.hooks.delete(name);
      await hook(name);
    }
    const current = this.objects.get(name);
    const expected = options.ifGenerationMatch;
    if (expected !== undefined && (current?.generation ?? '0') !== expected) {
      throw new PreconditionFailedError(name, expected, current?.generation ?? null);
    }
    return this.store(name, data, new Date());
  }

  /** Gathers the chunks, then writes them as one write: nothing is visible until the end. */
  async writeStream(
    name: string,
    chunks: AsyncIterable<Buffer | string>,
    options: WriteOptions = {},
  ): Promise<string> {
    checkObjectName(name);
    const parts: Buffer[] = [];
    for await (const c of chunks) parts.push(typeof c === 'string' ? Buffer.from(c) : c);
    return this.write(name, Buffer.concat(parts), options);
  }

  async copy(source: string, destination: string, sourceGeneration: string): Promise<string> {
    checkObjectName(destination);
    await tick();
    const current = this.objects.get(checkObjectName(source));
    if (current?.generation !== sourceGeneration)
      throw new PreconditionFailedError(source, sourceGeneration, current?.generation ?? null);
    return this.store(destination, current.data, new Date());
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    await tick();
    return this.names(prefix).map((name) => info(name, this.objects.get(name)!));
  }

  // ---- test helpers ----

  /**
   * Writes an object at once, as a user's upload would: `updated` is `ageMs` in the past
   * (default a minute), so a drop is already settled. Not counted as a write.
   */
  put(name: string, data: Buffer | string, ageMs = 60_000): string {
    return this.store(checkObjectName(name), data, new Date(Date.now() - ageMs), false);
  }

  /** Object names under prefix, sorted. */
  names(prefix = ''): string[] {
    return [...this.objects.keys()]
      .filter((n) => n.startsWith(prefix))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** A copy of an object's bytes, or undefined. */
  bytes(name: string): Buffer | undefined {
    const o = this.objects.get(name);
    return o && Buffer.from(o.data);
  }

  /** An object's bytes as text, or undefined. */
  text(name: string): string | undefined {
    return this.objects.get(name)?.data.toString('utf8');
  }

  /** An object parsed as JSON, or undefined. */
  json<T = unknown>(name: string): T | undefined {
    const t = this.text(name);
    return t === undefined ? undefined : (JSON.parse(t) as T);
  }

  generationOf(name: string): string | undefined {
    return this.objects.get(name)?.generation;
  }

  /** Successful writes through the port: of one object, or of all. */
  writeCount(name?: string): number {
    return total(this.writeCounts, name);
  }

  /** Reads (read and openRead) through the port: of one object, or of all. */
  readCount(name?: string): number {
    return total(this.readCounts, name);
  }

  delete(name: string): boolean {
    return this.objects.delete(name);
  }

  /** Runs `hook` before the next write of `name` (before its precondition is checked). */
  beforeNextWrite(name: string, hook: WriteHook): void {
    this.hooks.set(checkObjectName(name), hook);
  }

  /** Makes the next write of `name` fail with `error` (nothing is written). */
  failNextWrite(
    name: string,
    error: Error = new Error(`injected fault: write of ${name} failed`),
  ): void {
    this.beforeNextWrite(name, () => {
      throw error;
    });
  }

  private store(name: string, data: Buffer | string, updated: Date, counted = true): string {
    const generation = String(this.nextGeneration++);
    this.objects.set(name, { data: Buffer.from(data), generation, updated });
    if (counted) count(this.writeCounts, name);
    return generation;
  }
}

export interface PublishedMessage {
  topic: string;
  event: object;
  attributes: Record<string, string>;
  id: string;
}

/** Messaging that keeps every message, as the JSON a subscriber would receive. */
export class MemoryMessaging implements Messaging {
  readonly messages: PublishedMessage[] = [];
  private readonly taken = new Map<string, number>();
  private failure: Error | undefined;
  closed = false;

  async publish(
    topic: string,
    event: object,
    attributes: Record<string, string> = {},
  ): Promise<string> {
    await tick();
    if (this.failure) {
      const err = this.failure;
      this.failure = undefined;
      throw err;
    }
    const id = String(this.messages.length + 1);
    this.messages.push({
      topic,
      event: JSON.parse(JSON.stringify(event)),
      attributes: { ...attributes },
      id,
    });
    return id;
  }

  /** Every event published to topic, in order. */
  published<T = object>(topic: string): T[] {
    return this.messages.filter((m) => m.topic === topic).map((m) => m.event as T);
  }

  /** The events published to topic since the last take: a pull from a subscription. */
  take<T = object>(topic: string): T[] {
    const all = this.published<T>(topic);
    const from = this.taken.get(topic) ?? 0;
    this.taken.set(topic, all.length);
    return all.slice(from);
  }

  /** Makes the next publish fail with `error`. */
  failNextPublish(error: Error = new Error('injected fault: publish failed')): void {
    this.failure = error;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export interface Submission {
  kind: 'study' | 'training';
  request: StudyJobRequest | TrainingJobRequest;
  created: boolean;
}

/**
 * A training backend that runs nothing: it records submissions, creates each job id once
 * (a resubmission returns `created: false`, as the port requires) and answers getStudy with
 * the StudyJob a test set, or a RUNNING job without trials.
 */
export class FakeTrainingBackend implements TrainingBackend {
  readonly submissions: Submission[] = [];
  readonly studies = new Map<string, StudyJobRequest>();
  readonly trainings = new Map<string, TrainingJobRequest>();
  private readonly studyJobs = new Map<string, StudyJob>();
  private failure: Error | undefined;

  async submitStudy(request: StudyJobRequest) {
    await tick();
    return this.submit('study', this.studies, request);
  }

  async submitTraining(request: TrainingJobRequest) {
    await tick();
    return this.submit('training', this.trainings, request);
  }

  async getStudy(jobId: string): Promise<StudyJob | null> {
    await tick();
    const set = this.studyJobs.get(jobId);
    if (set) return structuredClone(set);
    const request = this.studies.get(jobId);
    return request ? { jobId, runId: request.runId, state: 'RUNNING', trials: [] } : null;
  }

  private readonly trainingJobs = new Map<string, TrainingJob>();

  /**
   * A submitted training reports SUCCEEDED unless setTraining said otherwise (the tests send
   * the completion event themselves); an unknown job, null.
   */
  async getTraining(jobId: string): Promise<TrainingJob | null> {
    await tick();
    const set = this.trainingJobs.get(jobId);
    if (set) return { ...set };
    return this.trainings.has(jobId) ? { jobId, state: 'SUCCEEDED' } : null;
  }

  /** What getTraining(job.jobId) returns from now on. */
  setTraining(job: TrainingJob): void {
    this.trainingJobs.set(job.jobId, { ...job });
  }

  /** Jobs asked to cancel, in order. */
  readonly cancelled: string[] = [];

  async cancelJob(jobId: string): Promise<void> {
    await tick();
    this.cancelled.push(jobId);
  }

  /** What getStudy(job.jobId) returns from now on (the job need not have been submitted). */
  setStudy(job: StudyJob): void {
    this.studyJobs.set(job.jobId, structuredClone(job));
  }

  /** Makes the next submission (of either kind) fail with `error`, creating nothing. */
  failNextSubmit(
    error: Error = new Error('injected fault: the training backend is unavailable'),
  ): void {
    this.failure = error;
  }

  /** Submission calls, of one kind or all (resubmissions included). */
  submissionCount(kind?: Submission['kind']): number {
    return this.submissions.filter((s) => kind === undefined || s.kind === kind).length;
  }

  private submit<R extends StudyJobRequest | TrainingJobRequest>(
    kind: Submission['kind'],
    jobs: Map<string, R>,
    request: R,
  ) {
    if (this.failure) {
      const err = this.failure;
      this.failure = undefined;
      throw err;
    }
    const created = !jobs.has(request.jobId);
    if (created) jobs.set(request.jobId, structuredClone(request));
    this.submissions.push({ kind, request: structuredClone(request), created });
    return { jobId: request.jobId, created };
  }
}

/** Yields to other callers, as a round trip to a service would. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function info(name: string, o: MemoryObject): ObjectInfo {
  return { name, generation: o.generation, size: o.data.length, updated: new Date(o.updated) };
}

function count(counts: Map<string, number>, name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

function total(counts: Map<string, number>, name?: string): number {
  if (name !== undefined) return counts.get(name) ?? 0;
  let n = 0;
  for (const c of counts.values()) n += c;
  return n;
}
