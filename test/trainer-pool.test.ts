import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TRAINER_WORKER_EXIT } from '@bucketml/contracts';
import { TrainerPool } from '@bucketml/local-stack';
import { ROOT, tempDir } from './helpers.ts';

/**
 * A stand-in worker speaking the bucketml-worker protocol: a job `exit N` writes its pid and
 * exits with code N, `sleep MS` waits first; its environment's JOB value is echoed.
 */
const FAKE_WORKER = `
import { createInterface } from 'node:readline';
for await (const line of createInterface({ input: process.stdin })) {
  const { argv, env } = JSON.parse(line);
  const [verb, arg] = argv;
  process.stdout.write('pid ' + process.pid + ' job ' + env.JOB + ' ünïcode █·\\n');
  if (verb === 'sleep') await new Promise((r) => setTimeout(r, Number(arg)));
  process.stdout.write('\\n' + ${JSON.stringify(TRAINER_WORKER_EXIT)} + (verb === 'exit' ? arg : 0) + '\\n');
}
`;

async function pool(maxIdle = 2) {
  const script = join(await tempDir(), 'fake-worker.mjs');
  await writeFile(script, FAKE_WORKER);
  return new TrainerPool(script, process.env, maxIdle);
}

async function runJob(p: TrainerPool, argv: string[], job: string) {
  let output = '';
  const run = p.run({ argv, env: { JOB: job } }, (t) => (output += t));
  const code = await run.done;
  return { code, output, pid: /pid (\d+)/.exec(output)?.[1], run };
}

describe('trainer pool: warm workers, one job at a time', () => {
  it('jobs run one after another on one worker, each with its own env, output and exit code', async () => {
    const p = await pool();
    const a = await runJob(p, ['exit', '0'], 'a');
    const b = await runJob(p, ['exit', '3'], 'b');
    assert.equal(a.code, 0);
    assert.equal(b.code, 3);
    assert.equal(a.pid, b.pid, 'the same warm worker');
    assert.match(a.output, /job a ünïcode █·\n$/);
    assert.match(b.output, /job b /);
    assert.doesNotMatch(b.output, /job a/);
    p.stop('SIGKILL');
  });

  it('a stop ends its job and retires its worker; a stop after a job finished does not touch the next job', async () => {
    const p = await pool();
    const first = await runJob(p, ['exit', '0'], 'first');
    const late = first.run;
    let output = '';
    const slow = p.run({ argv: ['sleep', '300'], env: { JOB: 'slow' } }, (t) => (output += t));
    late.stop('SIGTERM'); // the first job is over: nothing happens to the slow one
    assert.equal(await slow.done, 0);
    assert.match(output, new RegExp(`pid ${first.pid} job slow`));

    const stopped = p.run({ argv: ['sleep', '5000'], env: { JOB: 'stopped' } }, () => undefined);
    await new Promise((r) => setTimeout(r, 200));
    stopped.stop('SIGTERM');
    assert.notEqual(await stopped.done, 0, 'a signal ended it');
    const after = await runJob(p, ['exit', '0'], 'after');
    assert.equal(after.code, 0);
    assert.notEqual(after.pid, first.pid, 'a stopped worker is not reused');
    p.stop('SIGKILL');
  });

  it('after stop the pool starts nothing: a job ends at once with no exit code', async () => {
    const p = await pool();
    p.stop('SIGKILL');
    let output = '';
    const run = p.run({ argv: ['exit', '0'], env: { JOB: 'late' } }, (t) => (output += t));
    assert.equal(await run.done, null);
    assert.equal(output, '');
  });

  it('the real bucketml-worker answers a line that is no job with exit 2 and stays up for the next', async () => {
    const p = new TrainerPool(join(ROOT, 'packages/cli/bin/bucketml-worker.js'), process.env, 1);
    try {
      // A job whose JSON the worker cannot read as a job: argv is not an array.
      let output = '';
      const bad = p.run({ argv: 'train' as unknown as string[], env: {} }, (t) => (output += t));
      assert.equal(await bad.done, 2);
      assert.match(output, /not a job/);
      output = '';
      const next = p.run({ argv: ['no-such-verb'], env: {} }, (t) => (output += t));
      assert.equal(await next.done, 2);
      assert.match(output, /unknown command "no-such-verb"/);
    } finally {
      p.stop('SIGTERM');
    }
  });
});
