import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HypertuneReporter, pythonFloatStr } from '@bucketml/trainer';
import { tempDir } from './helpers.ts';

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
});
