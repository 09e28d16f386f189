/**
 * @module local-training-client
 * The training port of the embedded default, as the pipeline's stages reach it: over HTTP.
 */
import type {
  StudyJob,
  TrainingJob,
  StudyJobRequest,
  TrainingBackend,
  TrainingJobRequest,
} from './training-backend.js';

/**
 * The training backend of the embedded default: an HTTP client of the local training service
 * (part of the local stack), which runs trials as `bucketml train` processes on this machine
 * and publishes their completion — the local stand-in for Vertex AI's job API.
 */
export class LocalTrainingClient implements TrainingBackend {
  constructor(private readonly baseUrl: string) {}

  submitStudy(request: StudyJobRequest) {
    return this.call<{ jobId: string; created: boolean }>('POST', '/studies', request);
  }

  submitTraining(request: TrainingJobRequest) {
    return this.call<{ jobId: string; created: boolean }>('POST', '/trainings', request);
  }

  async getStudy(jobId: string): Promise<StudyJob | null> {
    return this.call<StudyJob | null>('GET', `/studies/${encodeURIComponent(jobId)}`);
  }

  async getTraining(jobId: string): Promise<TrainingJob | null> {
    return this.call<TrainingJob | null>('GET', `/trainings/${encodeURIComponent(jobId)}`);
  }

  async cancelJob(jobId: string): Promise<void> {
    await this.call('POST', `/jobs/${encodeURIComponent(jobId)}/cancel`);
  }

  private async call<T>(method: string, path: string, body?: object): Promise<T> {
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (res.status === 404 && method === 'GET') return null as T;
    if (!res.ok)
      throw new Error(
        `local training service: ${method} ${path} → ${res.status} ${await res.text()}`,
      );
    return (await res.json()) as T;
  }
}
