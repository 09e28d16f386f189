/**
 * @module trainer-pool
 * Warm trainers for the local training service: `bucketml-worker` processes (leashed, like
 * every child of the stack) that run one `bucketml train` job after another, so a trial pays
 * neither a process start nor the imports, and its run's data is read once per worker. A job
 * gets its argv and environment as a process would; its output streams to the caller until the
 * worker's exit marker (TRAINER_WORKER_EXIT). A job stopped or cancelled ends its worker (a
 * signal to its group, as for a process) and the worker is never used again; the next job
 * starts a fresh one. Idle workers beyond `maxIdle`, or idle for IDLE_MS, end (each holds its
 * run's data).
 */
import type { ChildProcess } from 'node:child_process';
import { TRAINER_WORKER_EXIT, type TrainerWorkerJob } from '@bucketml/contracts';
import { leashed, stopGroup } from './leashed.js';

/** A job on a trainer: stop it, and its exit code (null when a signal ended it). */
export interface TrainerRun {
  stop(signal: NodeJS.Signals): void;
  readonly done: Promise<number | null>;
}

/** How long an idle worker waits for a next job before it ends. */
const IDLE_MS = 60_000;

interface Job {
  onOutput: (text: string) => void;
  finish: (code: number | null) => void;
}

interface Worker {
  child: ChildProcess;
  /** The running job, while one runs. */
  job?: Job;
  /** Stopped, exited or ended: never given another job. */
  retired: boolean;
  pending: string;
  idleTimer?: NodeJS.Timeout;
}

export class TrainerPool {
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();
  private closed = false;

  constructor(
    private readonly script: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly maxIdle: number,
  ) {}

  /** Runs one job on an idle worker, or on a new one (after `stop`: none, done = null). */
  run(job: TrainerWorkerJob, onOutput: (text: string) => void): TrainerRun {
    if (this.closed) return { stop: () => undefined, done: Promise.resolve(null) };
    let worker = this.idle.pop();
    while (worker && (worker.retired || !alive(worker.child))) worker = this.idle.pop();
    worker ??= this.spawn();
    clearTimeout(worker.idleTimer);
    worker.pending = '';
    const w = worker;
    let mine: Job | undefined;
    const done = new Promise<number | null>((resolve) => {
      mine = { onOutput, finish: resolve };
      w.job = mine;
    });
    w.child.stdin!.write(`${JSON.stringify(job)}\n`);
    return {
      // Only while this job runs: a stop after it finished must not hit the worker's next job.
      stop: (signal) => {
        if (w.job !== mine) return;
        this.retire(w);
        stopGroup(w.child, signal);
      },
      done,
    };
  }

  /** Ends every worker, and takes no more jobs (the service stops). */
  stop(signal: NodeJS.Signals): void {
    this.closed = true;
    for (const w of this.all) {
      this.retire(w);
      stopGroup(w.child, signal);
    }
  }

  private retire(w: Worker): void {
    w.retired = true;
    clearTimeout(w.idleTimer);
    const i = this.idle.indexOf(w);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** A worker whose job ended cleanly waits for the next one, or ends when enough wait. */
  private release(w: Worker): void {
    if (w.retired || !alive(w.child) || this.closed) return;
    if (this.idle.length >= this.maxIdle) {
      this.retire(w);
      w.child.stdin!.end(); // its loop ends, and so does the process
      return;
    }
    w.idleTimer = setTimeout(() => {
      this.retire(w);
      w.child.stdin!.end();
    }, IDLE_MS).unref();
    this.idle.push(w);
  }

  private spawn(): Worker {
    const child = leashed(process.execPath, [this.script], {
      env: this.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const worker: Worker = { child, pending: '', retired: false };
    child.stdin!.on('error', () => undefined); // a worker gone: its close finishes the job
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    this.all.add(worker);
    const marker = `\n${TRAINER_WORKER_EXIT}`;
    child.stdout!.on('data', (text: string) => {
      // Output while no job runs belongs to none (a stopped job's last words): dropped.
      if (!worker.job) return;
      worker.pending += text;
      const at = worker.pending.indexOf(marker);
      const end = at < 0 ? -1 : worker.pending.indexOf('\n', at + marker.length);
      if (end >= 0) {
        const code = Number(worker.pending.slice(at + marker.length, end));
        const job = worker.job;
        job.onOutput(worker.pending.slice(0, at)); // the line break before the marker is its frame
        worker.pending = '';
        worker.job = undefined;
        this.release(worker);
        job.finish(Number.isInteger(code) ? code : 1);
        return;
      }
      // Output before the marker goes out as it comes (a marker may still be arriving).
      const keep = marker.length + 4;
      if (worker.pending.length > keep) {
        worker.job.onOutput(worker.pending.slice(0, -keep));
        worker.pending = worker.pending.slice(-keep);
      }
    });
    // What the worker writes before it redirects stderr (a failed import) is its job's output.
    child.stderr!.on('data', (text: string) => worker.job?.onOutput(text));
    // 'close': after the last of its output, unlike 'exit'.
    child.on('close', (code) => {
      this.retire(worker);
      this.all.delete(worker);
      const job = worker.job;
      worker.job = undefined;
      if (!job) return;
      job.onOutput(worker.pending);
      job.finish(code);
    });
    return worker;
  }
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
