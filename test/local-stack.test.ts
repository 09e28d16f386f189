import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunStore } from '@bucketml/pipeline';
import { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { dataVersion, dropObjects, layout, runIdOf } from '@bucketml/contracts';
import { ROOT, sampleCsv, tempDir } from './helpers.ts';

/**
 * `npm start` as a process, killed the way a user's machine kills it (SIGKILL: nothing to
 * catch): nothing it started may survive it — functions, trainers, the Java emulator — and
 * the next start on the same bucket resumes the study. Local functions listen on loopback only.
 */
const START = join(ROOT, 'packages/local-stack/dist/start.js');

/** The stack as `node start.js`, or as a user starts it, through `npm start` (`viaNpm`). */
function startStack(
  bucket: string,
  viaNpm = false,
): { child: ChildProcess; ready: Promise<string> } {
  const args = ['--no-demo', '--port', '0', '--bucket', bucket];
  const child = viaNpm
    ? spawn('npm', ['start', '--', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [START, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /predictions at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) =>
      reject(new Error(`npm start exited with ${code}: ${out.slice(-2000)}`)),
    );
  });
  return { child, ready };
}

/** Every process below `pid` (from /proc), at this moment. */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const out: number[] = [];
  const visit = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent !== p) continue;
      out.push(child);
      visit(child);
    }
  };
  visit(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Local addresses (hex, /proc/net/tcp form) of the sockets listening on `port`. */
async function listeners(port: number): Promise<string[]> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const rows = (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1);
  const tcp6 = (await readFile('/proc/net/tcp6', 'utf8').catch(() => '')).split('\n').slice(1);
  return [...rows, ...tcp6]
    .map((r) => r.trim().split(/\s+/))
    .filter((c) => c[1]?.endsWith(`:${hexPort}`) && c[3] === '0A')
    .map((c) => c[1].split(':')[0]);
}

describe('npm start, killed', () => {
  it('npm start stops when npm is killed: npm passes no signal on, the stack notices its launcher gone', async () => {
    const npm = startStack(await tempDir('bucketml-npm-kill-'), true);
    await npm.ready;
    const started = await descendants(npm.child.pid!);
    assert.ok(started.length >= 5, `sh, the stack, functions, emulator: ${started.length}`);
    npm.child.kill('SIGKILL');
    const gone = Date.now() + 15_000;
    while (started.some(alive) && Date.now() < gone) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(started.filter(alive), [], 'no process of the stack is left');
  });

  it(
    'SIGKILL leaves no process of it running, its functions listened on loopback only, and the next start resumes the study',
    { timeout: 300_000 },
    async () => {
      const bucket = await tempDir('bucketml-kill-');
      const first = startStack(bucket);
      const predictUrl = await first.ready;
      const port = Number(new URL(predictUrl).port);
      assert.deepEqual(
        [...new Set(await listeners(port))],
        ['0100007F'],
        'predict listens on 127.0.0.1 only',
      );
      // A client that stops in the middle of its headers is disconnected within seconds.
      const stalled = connect(port, '127.0.0.1');
      await new Promise((r) => stalled.once('connect', r));
      stalled.write('POST /babyweight HTTP/1.1\r\nHost: x\r\n');
      const opened = Date.now();
      await new Promise((r) => stalled.once('close', r));
      const held = Date.now() - opened;
      assert.ok(held < 8_000, `a stalled client held its connection ${held} ms`);

      // A study long enough to be killed in the middle of.
      await mkdir(join(bucket, 'config/babyweight'), { recursive: true });
      await writeFile(
        join(bucket, 'config/babyweight/hyperparam.yaml'),
        `trainingInput:\n  args: ["--train_examples=30000"]\n  hyperparameters:\n    maxTrials: 4\n    maxParallelTrials: 2\n    params:\n    - {parameterName: nnsize, type: DISCRETE, discreteValues: [16, 32, 48, 64]}\n`,
      );
      const staging = await tempDir();
      await mkdir(join(bucket, 'data/babyweight'), { recursive: true });
      await copyFile(
        await sampleCsv(staging, 'train.csv', 'babyweight/train.csv', 3000),
        join(bucket, 'data/babyweight/train.csv'),
      );
      await copyFile(
        await sampleCsv(staging, 'eval.csv', 'babyweight/eval.csv', 800),
        join(bucket, 'data/babyweight/eval.csv'),
      );
      const storage = new DirectoryBucket(bucket);
      const runId = runIdOf(
        'babyweight',
        dataVersion(dropObjects('babyweight', await storage.list(layout.dataPrefix('babyweight')))),
      );
      const runs = new RunStore(storage);
      const until = async (states: string[], ms: number) => {
        const deadline = Date.now() + ms;
        for (;;) {
          const run = (await runs.get(runId))?.run;
          if (run && states.includes(run.state)) return run;
          if (Date.now() > deadline)
            assert.fail(`run ${runId} is ${run?.state ?? 'absent'}, not ${states}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      await until(['tuning'], 60_000);
      // Wait until trainers run, so there is a process of every kind to outlive the stack.
      const deadline = Date.now() + 30_000;
      while (
        (await readdir(join(bucket, 'runs', runId, 'trials')).catch(() => [])).length === 0 &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 200));
      }
      const started = await descendants(first.child.pid!);
      assert.ok(started.length >= 6, `functions, emulator, trainers: ${started.length} processes`);
      first.child.kill('SIGKILL');
      const gone = Date.now() + 15_000;
      while (started.some(alive) && Date.now() < gone) await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(started.filter(alive), [], 'no process of the killed stack is left');

      const second = startStack(bucket);
      try {
        await second.ready;
        const ended = await until(['deployed', 'rejected', 'failed'], 240_000);
        assert.equal(ended.state, 'deployed', JSON.stringify(ended.error));
      } finally {
        second.child.kill('SIGTERM');
        await new Promise((r) => second.child.on('exit', r));
      }
    },
  );
});
