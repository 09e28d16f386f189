import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { HypertuneReporter, pythonFloatStr } from '@bucketml/trainer';
import { ROOT, tempDir } from './helpers.ts';

describe('hypertune metric reporting', () => {
  it("formats floats as Python's str() does", () => {
    const cases: [number, string][] = [
      [1.0507438140211915, '1.0507438140211915'],
      [1, '1.0'],
      [100, '100.0'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [1.5e-7, '1.5e-07'],
      [1e16, '1e+16'],
      [123456789012345.6, '123456789012345.6'],
      [-2.5, '-2.5'],
      [0, '0.0'],
    ];
    for (const [x, s] of cases) assert.equal(pythonFloatStr(x), s, `str(${x})`);
  });

  it('rewrites the file with the last 100 entries, like the library', async () => {
    const file = join(await tempDir(), 'deep', 'output.metrics');
    const reporter = new HypertuneReporter(file, '7');
    for (let i = 1; i <= 105; i++) reporter.report('rmse', 1 + i / 1000, i * 10);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 100);
    const last = JSON.parse(lines[99]);
    assert.deepEqual(Object.keys(last), ['global_step', 'rmse', 'timestamp', 'trial']);
    assert.equal(last.global_step, '1050');
    assert.equal(last.rmse, '1.105');
    assert.equal(last.trial, '7');
    assert.equal(JSON.parse(lines[0]).global_step, '60');
  });

  it('a SIGTERM at any moment (early stopping, preemption) never leaves a truncated metric file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'output.metrics');
    // A trainer stand-in that reports as fast as it can until it is killed.
    const module = pathToFileURL(join(ROOT, 'packages/trainer/dist/hypertune.js')).href;
    const script = `import { HypertuneReporter } from ${JSON.stringify(module)};
      const r = new HypertuneReporter(${JSON.stringify(file)}, '1');
      for (let i = 1; ; i++) r.report('rmse', 1 + 1 / i, i);`;
    for (let kill = 0; kill < 30; kill++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: 'ignore',
      });
      // Killed at a random moment once it has written (a loaded machine may start node slowly).
      const started = Date.now();
      while (!existsSync(file) && Date.now() - started < 10_000)
        await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, Math.random() * 120));
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
      assert.ok(
        lines.length >= 1 && lines.every((l) => Number.isFinite(Number(JSON.parse(l).rmse))),
        `kill ${kill}: ${lines.length} lines`,
      );
    }
  });
});
