/**
 * @module vertex-training
 * The cloud training backend: Vertex AI. A final training is a CustomJob, a study a
 * HyperparameterTuningJob built by the tuning engine's course → Vertex converter. Both run the
 * trainer's container image with the same contract as the local backend: `bucketml train`
 * flags (data as gs:// URIs, read through Cloud Storage FUSE), AIP_MODEL_DIR set by Vertex from
 * the job's base output directory, the hypertune metric file for trials.
 *
 * Vertex chooses job ids, so BucketML's job id travels as a label and as the display name;
 * submitting looks the label up first, which makes a redelivered submission find its job.
 * (Two deliveries racing within the same second could still both create one; the pipeline's
 * run state makes the second job's completion a no-op.)
 */
import {
  isJobFinished,
  jobOutput,
  LABELS,
  parseGsUri,
  parseJobId,
  trainerArgv,
} from '@bucketml/contracts';

export { LABELS, VERTEX_LOG_FILTER } from '@bucketml/contracts';
import { DEFAULT_MACHINE_TYPE, toVertexTuningJob } from '@bucketml/tuning';
import type {
  JobState,
  StudyJob,
  TrainingJob,
  StudyJobRequest,
  Trial,
  TrainingBackend,
  TrainingJobRequest,
  TrialState,
} from './training-backend.js';

/** Where the Vertex AI jobs run, on what, and as whom. */
export interface VertexOptions {
  project: string;
  region: string;
  /** The bucket holding the data and receiving the models (name, without gs://). */
  bucket: string;
  /** The trainer image, e.g. us-central1-docker.pkg.dev/P/bucketml/trainer:latest. */
  imageUri: string;
  machineType?: string;
  /** The service account trials run as (least privilege: the bucket only). */
  serviceAccount?: string;
}

/** The calls of @google-cloud/aiplatform's v1 JobServiceClient this backend makes. */
export interface VertexJobService {
  createCustomJob(request: {
    parent: string;
    customJob: object;
  }): Promise<[{ name?: string | null }, ...unknown[]]>;
  createHyperparameterTuningJob(request: {
    parent: string;
    hyperparameterTuningJob: object;
  }): Promise<[{ name?: string | null }, ...unknown[]]>;
  listCustomJobs(request: { parent: string; filter: string }): Promise<[VertexJob[], ...unknown[]]>;
  listHyperparameterTuningJobs(request: {
    parent: string;
    filter: string;
  }): Promise<[VertexJob[], ...unknown[]]>;
  getCustomJob(request: { name: string }): Promise<[VertexJob, ...unknown[]]>;
  getHyperparameterTuningJob(request: { name: string }): Promise<[VertexJob, ...unknown[]]>;
  cancelCustomJob(request: { name: string }): Promise<unknown>;
  cancelHyperparameterTuningJob(request: { name: string }): Promise<unknown>;
}

/** The fields of a CustomJob / HyperparameterTuningJob this backend reads. */
export interface VertexJob {
  name?: string | null;
  displayName?: string | null;
  state?: string | number | null;
  labels?: Record<string, string> | null;
  error?: { message?: string | null } | null;
  trials?: VertexTrial[] | null;
  jobSpec?: { baseOutputDirectory?: { outputUriPrefix?: string | null } | null } | null;
  trialJobSpec?: { baseOutputDirectory?: { outputUriPrefix?: string | null } | null } | null;
}

export interface VertexTrial {
  id?: string | null;
  state?: string | number | null;
  parameters?: { parameterId?: string | null; value?: unknown }[] | null;
  finalMeasurement?: {
    metrics?: { metricId?: string | null; value?: number | null }[] | null;
  } | null;
  measurements?:
    { metrics?: { metricId?: string | null; value?: number | null }[] | null }[] | null;
  startTime?: { seconds?: number | string | null } | string | null;
  endTime?: { seconds?: number | string | null } | string | null;
  infeasibleReason?: string | null;
}

/** Label values: lowercase letters, digits, '_' and '-', at most 63 characters. */
export function labelValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
}

/** The training port on Vertex AI's job service. */
export class VertexTrainingBackend implements TrainingBackend {
  /**
   * Vertex's studies start cold: a HyperparameterTuningJob has no input for earlier trials
   * (only the Vizier API's own studies take them, which this backend does not drive).
   */
  readonly supportsWarmStart = false;
  private readonly parent: string;

  constructor(
    readonly options: VertexOptions,
    private readonly jobs: VertexJobService,
  ) {
    this.parent = `projects/${options.project}/locations/${options.region}`;
  }

  private gs(name: string): string {
    return `gs://${this.options.bucket}/${name}`;
  }

  private labels(request: StudyJobRequest | TrainingJobRequest): Record<string, string> {
    return {
      [LABELS.run]: labelValue(request.runId),
      [LABELS.job]: labelValue(request.jobId),
      [LABELS.model]: labelValue(request.model),
    };
  }

  /** The trainer's argv (the one builder both backends use), with gs:// data. */
  private trainerArgs(
    request: StudyJobRequest | TrainingJobRequest,
    parameters?: TrainingJobRequest['parameters'],
  ): string[] {
    return trainerArgv({ ...request, parameters }, (name) => this.gs(name));
  }

  /** CreateCustomJobRequest for a final training: Vertex sets AIP_MODEL_DIR to <base>model/. */
  customJobRequest(request: TrainingJobRequest) {
    return {
      parent: this.parent,
      customJob: {
        displayName: request.jobId,
        labels: this.labels(request),
        jobSpec: {
          workerPoolSpecs: [this.workerPool(this.trainerArgs(request, request.parameters))],
          baseOutputDirectory: { outputUriPrefix: this.gs(request.outputDir) },
          ...(this.options.serviceAccount ? { serviceAccount: this.options.serviceAccount } : {}),
        },
      },
    };
  }

  /** CreateHyperparameterTuningJobRequest: trial t writes to <outputDir><t>/model/. */
  tuningJobRequest(request: StudyJobRequest) {
    // The converter gives the study spec and trial counts; the trial pool is this backend's.
    // request.warmStartFrom is not sent: a HyperparameterTuningJob takes no earlier observations.
    const { studySpec, maxTrialCount, parallelTrialCount, maxFailedTrialCount } = toVertexTuningJob(
      { ...request, args: [], finalArgs: [], warmStart: false },
    );
    return {
      parent: this.parent,
      hyperparameterTuningJob: {
        displayName: request.jobId,
        labels: this.labels(request),
        studySpec,
        maxTrialCount,
        parallelTrialCount,
        maxFailedTrialCount,
        trialJobSpec: {
          workerPoolSpecs: [this.workerPool(this.trainerArgs(request))],
          baseOutputDirectory: { outputUriPrefix: this.gs(request.outputDir) },
          ...(this.options.serviceAccount ? { serviceAccount: this.options.serviceAccount } : {}),
        },
      },
    };
  }

  private workerPool(args: string[]) {
    return {
      machineSpec: { machineType: this.options.machineType ?? DEFAULT_MACHINE_TYPE },
      replicaCount: 1,
      containerSpec: { imageUri: this.options.imageUri, args },
    };
  }

  async submitStudy(request: StudyJobRequest) {
    const existing = await this.find('study', request.jobId);
    if (existing) return { jobId: request.jobId, created: false };
    await this.jobs.createHyperparameterTuningJob(this.tuningJobRequest(request));
    return { jobId: request.jobId, created: true };
  }

  async submitTraining(request: TrainingJobRequest) {
    const existing = await this.find('training', request.jobId);
    if (existing) return { jobId: request.jobId, created: false };
    await this.jobs.createCustomJob(this.customJobRequest(request));
    return { jobId: request.jobId, created: true };
  }

  async getStudy(jobId: string): Promise<StudyJob | null> {
    const found = await this.find('study', jobId);
    if (!found) return null;
    const [job] = await this.jobs.getHyperparameterTuningJob({ name: found.name! });
    return studyFromVertex(job);
  }

  async getTraining(jobId: string): Promise<TrainingJob | null> {
    // The listing returns the whole job resource, state and error included.
    const found = await this.find('training', jobId);
    if (!found) return null;
    const error = found.error?.message ?? undefined;
    return { jobId, state: jobState(found.state) ?? 'RUNNING', ...(error ? { error } : {}) };
  }

  async cancelJob(jobId: string): Promise<void> {
    // A study's job id ends in -study, a training's in -final (jobIdOf).
    const kind = parseJobId(jobId)?.kind === 'study' ? 'study' : 'training';
    const found = await this.find(kind, jobId);
    const state = found && jobState(found.state);
    if (!found?.name || isJobFinished(state)) return;
    const name = found.name;
    try {
      if (kind === 'study') await this.jobs.cancelHyperparameterTuningJob({ name });
      else await this.jobs.cancelCustomJob({ name });
    } catch (err) {
      // FAILED_PRECONDITION: it finished between the listing and the call; nothing to cancel.
      if ((err as { code?: unknown }).code !== 9) throw err;
    }
  }

  private async find(kind: 'study' | 'training', jobId: string): Promise<VertexJob | undefined> {
    const request = { parent: this.parent, filter: `labels.${LABELS.job}="${labelValue(jobId)}"` };
    const [jobs] =
      kind === 'study'
        ? await this.jobs.listHyperparameterTuningJobs(request)
        : await this.jobs.listCustomJobs(request);
    return jobs.find((j) => j.displayName === jobId);
  }
}

const JOB_STATES: Record<string, JobState> = {
  JOB_STATE_QUEUED: 'QUEUED',
  JOB_STATE_PENDING: 'QUEUED',
  JOB_STATE_RUNNING: 'RUNNING',
  JOB_STATE_UPDATING: 'RUNNING',
  JOB_STATE_PAUSED: 'RUNNING',
  JOB_STATE_CANCELLING: 'RUNNING',
  JOB_STATE_SUCCEEDED: 'SUCCEEDED',
  JOB_STATE_PARTIALLY_SUCCEEDED: 'SUCCEEDED',
  JOB_STATE_FAILED: 'FAILED',
  JOB_STATE_EXPIRED: 'FAILED',
  JOB_STATE_CANCELLED: 'CANCELLED',
};
const JOB_STATE_NAMES = [
  'JOB_STATE_UNSPECIFIED',
  'JOB_STATE_QUEUED',
  'JOB_STATE_PENDING',
  'JOB_STATE_RUNNING',
  'JOB_STATE_SUCCEEDED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLING',
  'JOB_STATE_CANCELLED',
  'JOB_STATE_PAUSED',
  'JOB_STATE_EXPIRED',
  'JOB_STATE_UPDATING',
  'JOB_STATE_PARTIALLY_SUCCEEDED',
];
const TRIAL_STATE_NAMES = [
  'STATE_UNSPECIFIED',
  'REQUESTED',
  'ACTIVE',
  'STOPPING',
  'SUCCEEDED',
  'INFEASIBLE',
];

/** The job's state in the port's terms (the client returns enums as names or numbers). */
export function jobState(state: VertexJob['state']): JobState | undefined {
  return JOB_STATES[typeof state === 'number' ? JOB_STATE_NAMES[state] : String(state)];
}

/** Vertex reports no early-stopping flag: a trial stopped mid-way is STOPPING, then SUCCEEDED. */
function trialState(state: VertexTrial['state']): TrialState {
  const name = typeof state === 'number' ? TRIAL_STATE_NAMES[state] : String(state);
  if (name === 'SUCCEEDED') return 'SUCCEEDED';
  if (name === 'INFEASIBLE') return 'FAILED';
  if (name === 'STOPPING') return 'STOPPED';
  return 'ACTIVE';
}

/** A trial parameter's value: google.protobuf.Value from the client, or plain JSON from REST. */
function parameterValue(value: unknown): number | string {
  if (typeof value === 'number' || typeof value === 'string') return value;
  const v = (value ?? {}) as { numberValue?: number | null; stringValue?: string | null };
  if (typeof v.numberValue === 'number') return v.numberValue;
  return String(v.stringValue ?? '');
}

function isoTime(t: VertexTrial['startTime']): string | undefined {
  if (!t) return undefined;
  if (typeof t === 'string') return t;
  return t.seconds != null ? new Date(Number(t.seconds) * 1000).toISOString() : undefined;
}

/** A HyperparameterTuningJob as the port's StudyJob: the trials the analysis ranks. */
export function studyFromVertex(job: VertexJob): StudyJob {
  const labels = job.labels ?? {};
  const base = job.trialJobSpec?.baseOutputDirectory?.outputUriPrefix ?? '';
  const prefix = (parseGsUri(base)?.name ?? '').replace(/\/?$/, '/');
  const trials: Trial[] = (job.trials ?? []).map((t) => {
    const measurements = (t.measurements ?? [])
      .map((m) => m.metrics?.[0]?.value)
      .filter((v): v is number => typeof v === 'number');
    const final = t.finalMeasurement?.metrics?.[0]?.value ?? undefined;
    return {
      id: String(t.id),
      state: trialState(t.state),
      parameters: Object.fromEntries(
        (t.parameters ?? []).map((p) => [String(p.parameterId), parameterValue(p.value)]),
      ),
      ...(typeof final === 'number' ? { objective: final } : {}),
      measurements,
      modelPrefix: jobOutput.modelDir(jobOutput.trialDir(prefix, String(t.id))),
      startTime: isoTime(t.startTime),
      endTime: isoTime(t.endTime),
      ...(t.infeasibleReason ? { error: t.infeasibleReason } : {}),
    };
  });
  const state = jobState(job.state) ?? 'RUNNING';
  return {
    jobId: job.displayName ?? labels[LABELS.job] ?? String(job.name),
    runId: labels[LABELS.run] ?? '',
    state,
    trials,
    ...(job.error?.message ? { error: job.error.message } : {}),
  };
}

/** @google-cloud/aiplatform's JobServiceClient on the region's endpoint (Vertex AI is regional). */
export async function vertexJobService(region: string): Promise<VertexJobService> {
  const { v1 } = await import('@google-cloud/aiplatform');
  return new v1.JobServiceClient({
    apiEndpoint: `${region}-aiplatform.googleapis.com`,
  }) as unknown as VertexJobService;
}
