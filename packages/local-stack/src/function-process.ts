/**
 * @module function-process
 * Runs each function as Cloud Functions does: in its own functions-framework process, started again
 * when it dies, with its log lines collected.
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { leashed, stopGroup } from './leashed.js';

/** Binds functions-framework to loopback (see loopback.ts). */
const LOOPBACK = new URL('./loopback.js', import.meta.url).href;

/**
 * The functions-framework the function itself depends on (as Cloud Functions runs it): the
 * function registers with that copy. The package exports only its API; its CLI (main.js) sits
 * next to the API's entry point.
 */
function frameworkMain(source: string): string {
  const require = createRequire(join(source, 'package.json'));
  return join(dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');
}

export interface FunctionSpec {
  name: string;
  /** The function's folder (its package.json names the built entry point). */
  source: string;
  target: string;
  signatureType: 'http' | 'cloudevent';
  port: number;
}

/**
 * One function as its own functions-framework process, supervised: if it dies (crashed, or
 * killed by a test) it is started again, as Cloud Functions starts a new instance. Its stdout
 * lines (the structured log events) go to `onLine`. NODE_ENV is production, as in Cloud
 * Functions, so the framework's own error pages (e.g. for unparseable JSON) carry no stack trace.
 */
export class FunctionProcess {
  private child?: ChildProcess;
  private stopped = false;
  restarts = 0;

  constructor(
    readonly spec: FunctionSpec,
    private readonly env: NodeJS.ProcessEnv,
    private readonly onLine: (fn: string, line: string) => void,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.spec.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    const { spec } = this;
    const child = leashed(
      process.execPath,
      [
        '--import',
        LOOPBACK,
        frameworkMain(spec.source),
        `--target=${spec.target}`,
        `--signature-type=${spec.signatureType}`,
        `--source=${spec.source}`,
        `--port=${spec.port}`,
      ],
      {
        env: {
          NODE_ENV: 'production',
          ...this.env,
          FUNCTION_TARGET: spec.target,
          K_SERVICE: spec.name,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.onLine(spec.name, line));
    }
    child.on('exit', () => {
      if (this.stopped) return;
      this.restarts++;
      setTimeout(() => !this.stopped && this.start(), 200);
    });
  }

  /** Resolves once the process accepts connections (a TCP probe: a request would be an event). */
  async ready(timeoutMs = 30_000): Promise<void> {
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = connect(this.spec.port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`function ${this.spec.name} did not start within ${timeoutMs} ms`);
  }

  /** SIGKILL, as a crash; the supervisor restarts it. */
  kill(): void {
    if (this.child) stopGroup(this.child, 'SIGKILL');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      stopGroup(child, 'SIGTERM');
      setTimeout(() => stopGroup(child, 'SIGKILL'), 3000).unref();
    });
  }
}
