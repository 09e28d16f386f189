#!/usr/bin/env node
/**
 * @module start
 * `npm start`: the embedded default. Starts the local stack, then (unless --no-demo) drops the
 * babyweight sample into the bucket exactly as a user would with `cp`, follows the run, and
 * sends a prediction once a model serves. Keeps serving until Ctrl-C; --once exits right
 * after that first served prediction (non-zero if the run fails).
 */
import { readFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer } from 'node:net';
import { renderLogLine } from './log-renderer.js';
import { isAlive } from './process-alive.js';
import { startLocalStack, type LocalStack } from './stack.js';
import { layout, TOPICS } from '@bucketml/contracts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DEMO_INSTANCES = [
  { key: 'b1', is_male: 'True', mother_age: 26, plurality: 'Single(1)', gestation_weeks: 39 },
  { key: 'b2', is_male: 'Unknown', mother_age: 31, plurality: 'Twins(2)', gestation_weeks: 35 },
];

const { values: args } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    'no-demo': { type: 'boolean', default: false },
    bucket: { type: 'string', default: join(ROOT, '.bucket') },
    port: { type: 'string', default: '8080' },
    'pages-port': { type: 'string', default: '8081' },
    verbose: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '900' },
  },
});

const started = Date.now();
const color = process.stdout.isTTY === true;
const say = (s: string) => process.stdout.write(s + '\n');
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

let stack: LocalStack | undefined;
async function shutdown(code: number): Promise<never> {
  await stack?.stop().catch(() => undefined);
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGHUP', () => void shutdown(0));
// Started by npm, which does not pass a kill on: when a process that started this one goes
// (npm killed, its terminal closed), the stack stops as if it had been interrupted.
const launchers = startedBy();
setInterval(() => {
  if (launchers.some((pid) => !isAlive(pid))) void shutdown(0);
}, 1000).unref();

/** This process's parent, and under npm (which runs a script with `sh -c`) npm's pid too. */
function startedBy(): number[] {
  const pids = [process.ppid];
  if (!process.env.npm_lifecycle_event) return pids;
  try {
    // /proc/<pid>/stat: "pid (command) state ppid …"; the command may hold spaces.
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    const grandparent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (grandparent > 1) pids.push(grandparent);
  } catch {
    // No /proc (not Linux): the parent alone.
  }
  return pids;
}

/** A port flag's number, or an error naming the flag. */
function portFlag(name: 'port' | 'pages-port'): number {
  const port = Number(args[name]);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--${name} must be a port number (got ${args[name]})`);
  return port;
}

try {
  const port = portFlag('port');
  if (port !== 0 && !(await portIsFree(port)))
    throw new Error(`port ${port} is in use (another npm start?): stop it or pass --port N`);
  const pagesPort = portFlag('pages-port');
  say(`BucketML local stack: bucket ${args.bucket}`);
  stack = await startLocalStack({
    bucketDir: args.bucket!,
    predictPort: port,
    // A busy pages port is no reason not to start: any free one, printed below.
    pagesPort: pagesPort !== 0 && (await portIsFree(pagesPort)) ? pagesPort : 0,
    onLog: (line) => {
      const text = renderLogLine(line, { color, verbose: args.verbose! });
      if (text) say(text);
    },
  });
  const predictUrl = `${stack.predictUrl}/babyweight`;
  say(
    `ready in ${elapsed()}: drop CSVs into ${join(args.bucket!, layout.dataPrefix('<model>'))}; predictions at ${stack.predictUrl}/<model>; run pages at ${stack.pagesUrl}/runs/<runId>/`,
  );
  say(
    `run outcomes: topic ${TOPICS.runOutcomes} on the Pub/Sub emulator at PUBSUB_EMULATOR_HOST=${stack.pubsub.host}, project ${stack.pubsub.projectId}`,
  );

  if (!args['no-demo']) {
    const target = join(args.bucket!, layout.dataPrefix('babyweight'));
    await mkdir(target, { recursive: true });
    for (const file of ['train.csv', 'eval.csv'])
      await copyFile(join(ROOT, 'data/babyweight', file), join(target, file));
    say(`demo: copied data/babyweight/train.csv and eval.csv into ${target}`);
    const timeout = Number(args.timeout) * 1000;
    // The run id derives from the drop's names and generations, as data-upload derives it.
    const runId = await stack.runIdOfDrop('babyweight');
    say(`run page (live while the run goes): ${stack.pagesUrl}/${layout.runPage(runId)}`);
    const end = await stack.waitForRun(runId, timeout);
    if (end.state === 'failed') {
      say(`run ${runId} failed: ${end.error?.message ?? 'unknown error'}`);
      await shutdown(1);
    }
    const res = await fetch(predictUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: DEMO_INSTANCES }),
    });
    const body = await res.text();
    say(
      `\nPOST ${predictUrl} ${JSON.stringify({ instances: DEMO_INSTANCES })}\n→ ${res.status} ${body}`,
    );
    say(
      `first prediction served ${elapsed()} after start (run ${runId}: ${end.state === 'deployed' ? 'deployed' : 'rejected; the previous model serves'})`,
    );
    // The stage that ended the run writes its page just after: --once must not cut it off.
    const page = await stack.waitForRunPage(runId, 30_000).catch((err: Error) => {
      say(`warning: ${err.message}`);
      return null;
    });
    const file = join(args.bucket!, layout.runPage(runId));
    const counts = page ? ` (${page.trials.length} trials, ${page.state})` : '';
    // With --once the page server stops next: the file is what stays.
    say(
      args.once
        ? `run page${counts}: ${file} (open it in a browser; the models page is beside the model in ${join(args.bucket!, layout.modelsPage('babyweight'))})`
        : `run page${counts}: ${stack.pagesUrl}/${layout.runPage(runId)} (the file: ${file}); models page: ${stack.pagesUrl}/${layout.modelsPage('babyweight')}`,
    );
    if (!res.ok) await shutdown(1);
    if (args.once) await shutdown(0);
  }
  say(
    `\nserving until Ctrl-C. Try:\n  curl -s -X POST ${predictUrl} -H 'content-type: application/json' \\\n` +
      `    -d '{"instances":[${JSON.stringify(DEMO_INSTANCES[0])}]}'`,
  );
} catch (err) {
  process.stderr.write(`npm start failed: ${(err as Error).message}\n`);
  await shutdown(1);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const srv = createServer();
    srv.once('error', () => resolvePromise(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePromise(true)));
  });
}
