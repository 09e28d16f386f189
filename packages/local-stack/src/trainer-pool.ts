/**
 * @module trainer-pool
 * Warm trainers for the local training service: `bucketml-worker` processes (leashed, like
 * every child of the stack) that run one `bucketml train` job after another, so a trial pays
 * neither a process start nor the imports, and its run's data is read once per worker. A job
 * gets its argv and environment as a process would; its output streams to the caller until the
 * worker's exit marker (TRAINER_WORKER_EXIT). A job stopped or cancelled ends its worker (a
 * signal to its group, as for a process); the next job starts a fresh one.
 */
import type { ChildProcess } from 'node:child_process';
import { TRAINER_WORKER_EXIT, type TrainerWorkerJob } from '@bucketml/contracts';
import { leashed, stopGroup } from './leashed.js';

/** A job on a trainer: stop it, and its exit code (null when a signal ended it). */
export interface TrainerRun {
  readonly child: ChildProcess;
  stop(signal: NodeJS.Signals): void;
  readonly done: Promise<number | null>;
}

interface Worker {
  child: ChildProcess;
  /** The running job's output sink and completion, while one runs. */
  job?: { onOutput: (text: string) => void; finish: (code: number | null) => void };
  pending: string;
}

export class TrainerPool {
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();

  constructor(
    private readonly script: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Runs one job on an idle worker, or on a new one. */
  run(job: TrainerWorkerJob, onOutput: (text: string) => void): TrainerRun {
    const worker = this.idle.pop() ?? this.spawn();
    const done = new Promise<number | null>((resolve) => {
      worker.job = { onOutput, finish: resolve };
    });
    worker.child.stdin!.write(`${JSON.stringify(job)}\n`);
    return {
      child: worker.child,
      stop: (signal) => stopGroup(worker.child, signal),
      done,
    };
  }

  /** Ends every worker (the service stops). */
  stop(signal: NodeJS.Signals): void {
    for (const w of this.all) stopGroup(w.child, signal);
  }

  private spawn(): Worker {
    const child = leashed(process.execPath, [this.script], {
      env: this.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const worker: Worker = { child, pending: '' };
    child.stdin!.on('error', () => undefined); // a worker gone: its exit finishes the job
    this.all.add(worker);
    const marker = `\n${TRAINER_WORKER_EXIT}`;
    child.stdout!.on('data', (d: Buffer) => {
      worker.pending += d.toString();
      for (;;) {
        const at = worker.pending.indexOf(marker);
        const end = at < 0 ? -1 : worker.pending.indexOf('\n', at + marker.length);
        if (end < 0) break;
        const code = Number(worker.pending.slice(at + marker.length, end));
        worker.job?.onOutput(worker.pending.slice(0, at + 1));
        worker.pending = worker.pending.slice(end + 1);
        const job = worker.job;
        worker.job = undefined;
        this.idle.push(worker);
        job?.finish(Number.isInteger(code) ? code : 1);
      }
      // Output before the marker goes out as it comes (a marker may still be arriving).
      const keep = Math.min(worker.pending.length, marker.length + 4);
      if (worker.job && worker.pending.length > keep) {
        worker.job.onOutput(worker.pending.slice(0, worker.pending.length - keep));
        worker.pending = worker.pending.slice(worker.pending.length - keep);
      }
    });
    // What the worker writes before it redirects stderr (a failed import) is its job's output.
    child.stderr!.on('data', (d: Buffer) => worker.job?.onOutput(d.toString()));
    child.on('exit', (code) => {
      this.all.delete(worker);
      const i = this.idle.indexOf(worker);
      if (i >= 0) this.idle.splice(i, 1);
      worker.job?.onOutput(worker.pending);
      worker.job?.finish(code);
      worker.job = undefined;
    });
    return worker;
  }
}
