/**
 * @module test/cli-runs
 * `bucketml runs` and `bucketml run` on a directory bucket and on gs:// (through a stand-in
 * `gcloud` on PATH that serves the same directory, as `gcloud storage ls` / `cat` would): both
 * print the same thing, from the run pages' data; usage errors exit 2, a missing run 1.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { PAGE_DATA_FORMAT, type RunPageData } from '@bucketml/contracts';
import { runCli, tempDir } from './helpers.ts';

const RUN = 'babyweight-0123456789ab';
const OLDER = 'taxifare-0123456789ab';

function pageData(runId: string, model: string, createdAt: string): RunPageData {
  return {
    format: PAGE_DATA_FORMAT,
    revision: 7,
    generatedAt: createdAt,
    runId,
    model,
    state: 'deployed',
    terminal: true,
    createdAt,
    updatedAt: createdAt,
    durationSeconds: 31.25,
    history: [{ state: 'received', at: createdAt }],
    study: { metricTag: 'rmse', goal: 'MINIMIZE', maxTrials: 3, maxParallelTrials: 2 },
    trials: [
      {
        id: '2',
        rank: 1,
        state: 'SUCCEEDED',
        parameters: { batch_size: 64 },
        objective: 1.05,
        durationSeconds: 4.04,
        measurements: [1.2, 1.1, 1.05],
      },
      {
        id: '1',
        state: 'STOPPED',
        parameters: { batch_size: 8 },
        objective: 1.3,
        durationSeconds: 1.5,
        measurements: [1.31, 1.3],
        earlyStop: {
          measurement: 2,
          value: 1.3,
          median: 1.1,
          finished: 4,
          improvement: 0.01,
          medianImprovement: 0.1,
        },
      },
      {
        id: '3',
        state: 'FAILED',
        parameters: { batch_size: 512 },
        measurements: [],
        error: 'trainer exited with 1',
      },
    ],
    best: { trialId: '2', objective: 1.05 },
    decision: {
      deployed: true,
      reason: 'no model was serving',
      metric: 'rmse',
      candidateValue: 1.04,
      evalRows: 800,
    },
    version: runId,
    decisions: [{ kind: 'trial-failed', trialId: '3', message: 'trainer exited with 1' }],
  };
}

/** A `gcloud` that answers `storage ls gs://b/…` and `storage cat gs://b/…` from `root`. */
const FAKE_GCLOUD = (root: string) => `#!/usr/bin/env node
const fs = require('node:fs'), path = require('node:path');
const [, , group, verb, ...urls] = process.argv;
const local = (u) => path.join(${JSON.stringify(root)}, u.replace(/^gs:\\/\\/b\\//, ''));
if (group !== 'storage') process.exit(2);
if (verb === 'ls') {
  const runs = path.join(${JSON.stringify(root)}, 'runs');
  const found = fs.readdirSync(runs).filter((r) => fs.existsSync(path.join(runs, r, 'page.json')));
  if (!found.length) { console.error('ERROR: No URLs matched'); process.exit(1); }
  for (const r of found) console.log('gs://b/runs/' + r + '/page.json');
} else if (verb === 'cat') {
  for (const u of urls) {
    if (!fs.existsSync(local(u))) { console.error('ERROR: ' + u + ' not found: 404'); process.exit(1); }
    process.stdout.write(fs.readFileSync(local(u)));
  }
} else process.exit(2);
`;

describe('bucketml runs / run', () => {
  let root: string;
  let env: Record<string, string>;

  before(async () => {
    root = join(await tempDir(), 'bucket');
    for (const [id, model, at] of [
      [RUN, 'babyweight', '2026-01-02T00:00:00.000Z'],
      [OLDER, 'taxifare', '2026-01-01T00:00:00.000Z'],
    ]) {
      await mkdir(join(root, 'runs', id), { recursive: true });
      await writeFile(
        join(root, 'runs', id, 'page.json'),
        JSON.stringify(pageData(id, model, at)) + '\n',
      );
    }
    const bin = await tempDir();
    await writeFile(join(bin, 'gcloud'), FAKE_GCLOUD(root));
    await chmod(join(bin, 'gcloud'), 0o755);
    env = { PATH: `${bin}:${process.env.PATH}` };
  });

  it('runs: newest first, with state, metric, best trial, final model, version and duration, the same on gs://', async () => {
    const local = await runCli(['runs', '--bucket', root]);
    assert.equal(local.code, 0, local.stderr);
    const lines = local.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    assert.deepEqual(lines, [
      ['run', 'state', 'metric', 'best trial', 'final model', 'version', 'duration'],
      [RUN, 'deployed', 'rmse', '1.0500', '1.0400', RUN, '31.3 s'],
      [OLDER, 'deployed', 'rmse', '1.0500', '1.0400', OLDER, '31.3 s'],
    ]);
    const gs = await runCli(['runs', '--bucket', 'gs://b'], env);
    assert.equal(gs.code, 0, gs.stderr);
    assert.equal(gs.stdout, local.stdout);
    const one = await runCli(['runs', '--bucket', root, '--model', 'taxifare']);
    assert.equal(one.stdout.trimEnd().split('\n').length, 2);
  });

  it("run: the trials in the page's order with sparklines, the gate, the decisions; the same on gs://", async () => {
    const local = await runCli(['run', RUN, '--bucket', root]);
    assert.equal(local.code, 0, local.stderr);
    const rows = local.stdout
      .split('\n')
      .map((l) => l.split(/\s{2,}/))
      .filter((c) => /^(\d+|–)$/.test(c[0]));
    assert.deepEqual(rows, [
      ['1', '2', 'SUCCEEDED', '1.0500', '64', '4.0 s', '▅▂▁'],
      ['–', '1', 'STOPPED', '1.3000', '8', '1.5 s', '██'],
      ['–', '3', 'FAILED', '–', '512', '–', '–'],
    ]);
    assert.match(
      local.stdout,
      /gate: deployed: candidate rmse 1\.0400, serving none, 800 eval rows/,
    );
    assert.match(local.stdout, /trial-failed \(trial 3\): trainer exited with 1/);
    const gs = await runCli(['run', RUN, '--bucket', 'gs://b'], env);
    assert.equal(gs.code, 0, gs.stderr);
    assert.equal(gs.stdout, local.stdout);
  });

  it('a missing run exits 1, a bad run id or bucket 2', async () => {
    const missing = await runCli(['run', 'babyweight-ffffffffffff', '--bucket', root]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no page data for run babyweight-ffffffffffff/);
    assert.equal(
      (await runCli(['run', 'babyweight-ffffffffffff', '--bucket', 'gs://b'], env)).code,
      1,
    );
    assert.equal((await runCli(['run', 'not-a-run', '--bucket', root])).code, 2);
    assert.equal((await runCli(['runs', '--bucket', join(root, 'nowhere')])).code, 2);
  });
});
