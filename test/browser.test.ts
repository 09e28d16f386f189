/**
 * @module test/browser
 * The run page and the models page in a real browser: playwright-core driving Debian's
 * chromium (/usr/bin/chromium, or BUCKETML_CHROMIUM; never a downloaded browser) against a
 * real run on the local stack (emulator, functions, trainers). The page is opened mid-run and
 * must update by itself; once the run ends it must show report.json's trials in order, both
 * charts, and no console error. Screenshots go to test-output/browser/ (paths printed), with
 * the page's size and load time. Without chromium the suite is skipped, saying why.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { layout, type RunPageData } from '@bucketml/contracts';
import { startLocalStack, type LocalStack } from '@bucketml/local-stack';
import { ROOT, runCli, sampleCsv, tempDir } from './helpers.ts';

const CHROMIUM = process.env.BUCKETML_CHROMIUM ?? '/usr/bin/chromium';
const OUTPUT = join(ROOT, 'test-output/browser');
const skip = existsSync(CHROMIUM)
  ? false
  : `no chromium at ${CHROMIUM}: install it with \`apt-get install chromium\` (.ci/run does) or set BUCKETML_CHROMIUM`;
if (skip) console.log(`# SKIPPED browser tests: ${skip}`);

/** 6 trials, 2 at a time, short trainings: a run of about half a minute on 2 cores. */
const STUDY = `trainingInput:
  args: ["--train_examples=6000"]
  hyperparameters:
    goal: MINIMIZE
    hyperparameterMetricTag: rmse
    maxTrials: 6
    maxParallelTrials: 2
    enableTrialEarlyStopping: True
    params:
    - parameterName: batch_size
      type: INTEGER
      minValue: 16
      maxValue: 512
      scaleType: UNIT_LOG_SCALE
    - parameterName: nnsize
      type: INTEGER
      minValue: 16
      maxValue: 64
      scaleType: UNIT_LOG_SCALE
`;

/** A page that records its console errors and uncaught exceptions. */
async function openPage(browser: Browser, url: string) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  const started = performance.now();
  await page.goto(url);
  await page.waitForSelector('body[data-rendered]');
  return { page, errors, loadMs: performance.now() - started };
}

async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(OUTPUT, { recursive: true });
  const path = join(OUTPUT, name);
  await page.screenshot({ path, fullPage: true });
  console.log(`# screenshot: ${path}`);
  return path;
}

const revisionOf = async (page: Page) => Number(await page.getAttribute('body', 'data-revision'));

describe('the run page in a real browser', { skip }, () => {
  let stack: LocalStack;
  let browser: Browser;
  let runId: string;
  let pageUrl: string;

  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    stack = await startLocalStack({ bucketDir: join(await tempDir(), 'bucket') });
    const bucket = stack.bucket.root;
    await mkdir(join(bucket, 'config/babyweight'), { recursive: true });
    await writeFile(join(bucket, 'config/babyweight/hyperparam.yaml'), STUDY);
    const staging = await tempDir();
    await mkdir(join(bucket, 'data/babyweight'), { recursive: true });
    for (const [name, rows] of [
      ['train.csv', 3000],
      ['eval.csv', 800],
    ] as const)
      await copyFile(
        await sampleCsv(staging, name, `babyweight/${name}`, rows),
        join(bucket, 'data/babyweight', name),
      );
    runId = await stack.runIdOfDrop('babyweight');
    pageUrl = `${stack.pagesUrl}/${layout.runPage(runId)}`;
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('mid-run, the open page follows the run without a reload', async () => {
    // The page exists from the run's first step on.
    const deadline = Date.now() + 60_000;
    while (!(await stack.bucket.stat(layout.runPage(runId)))) {
      assert.ok(Date.now() < deadline, 'no run page within 60 s of the drop');
      await new Promise((r) => setTimeout(r, 200));
    }
    const { page, errors } = await openPage(browser, pageUrl);
    const first = await revisionOf(page);
    const firstState = await page.getAttribute('body', 'data-state');
    assert.notEqual(firstState, 'deployed', 'opened before the run ended');
    // (Expressions evaluated in the page, where `document` is.)
    await page.waitForFunction(`Number(document.body.dataset.revision) > ${first}`, undefined, {
      timeout: 120_000,
    });
    // A trial has finished: its line in the parallel coordinates, its curve in the chart.
    await page.waitForFunction(
      `document.querySelectorAll('#parallel path[data-trial-id]').length > 0`,
      undefined,
      { timeout: 120_000 },
    );
    await screenshot(page, 'run-page-mid-run.png');
    await page.waitForFunction(`document.body.dataset.state === 'deployed'`, undefined, {
      timeout: 180_000,
    });
    assert.ok((await revisionOf(page)) > first);
    assert.deepEqual(errors, [], 'no console errors while following the run');
    await page.close();
  });

  it('once finished: report.json trials in order, both charts, no console error; size and load time', async () => {
    await stack.waitForRun(runId, 180_000);
    const data = await stack.waitForRunPage(runId, 30_000);
    const report = JSON.parse(await readFile(stack.bucket.pathOf(layout.report(runId)), 'utf8'));
    const { page, errors, loadMs } = await openPage(browser, pageUrl);
    assert.equal(await page.getAttribute('body', 'data-state'), 'deployed');

    const rows = await page.$$eval('#trials tbody tr', (trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute('data-trial-id'),
        state: tr.querySelector('.state .badge')?.textContent,
        objective: tr.querySelector('.objective')?.textContent,
      })),
    );
    assert.deepEqual(
      rows,
      report.trials.map((t: { id: string; state: string; objective?: number }) => ({
        id: t.id,
        state: t.state,
        objective: t.objective === undefined ? '–' : t.objective.toFixed(4),
      })),
      "the table's rows are report.json's trials, in its order",
    );

    // The curves: uPlot drew its canvas, one series per trial with measurements.
    const curves = await page.$eval('#curves', (box) => ({
      canvas: box.querySelectorAll('canvas').length,
      width: box.querySelector('canvas')?.width ?? 0,
    }));
    assert.ok(curves.canvas >= 1 && curves.width > 0, 'the learning curves are drawn');
    // The parallel coordinates: one line per trial with an objective, one axis per parameter + objective.
    const lines = await page.$$eval('#parallel path[data-trial-id]', (ps) =>
      ps.map((p) => p.getAttribute('data-trial-id')).sort(),
    );
    const withObjective = data.trials.filter((t) => t.objective !== undefined).map((t) => t.id);
    assert.deepEqual(lines, [...withObjective].sort());
    assert.equal(await page.$$eval('#parallel .axis', (a) => a.length), 3);
    // The gate, with both figures and the eval rows.
    assert.equal(
      await page.textContent('#gate .candidate'),
      data.decision!.candidateValue!.toFixed(4),
    );
    assert.equal(await page.textContent('#gate .eval-rows'), String(data.decision!.evalRows));
    assert.equal(data.decision!.evalRows, 800, "the gate measured on the eval sample's 800 rows");
    assert.deepEqual(errors, [], 'no console errors');

    const bytes = {
      html: (await stack.bucket.stat(layout.runPage(runId)))!.size,
      json: (await stack.bucket.stat(layout.runPageData(runId)))!.size,
    };
    const timing = (await page.evaluate(
      `(() => { const n = performance.getEntriesByType('navigation')[0]; return { domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd }; })()`,
    )) as { domContentLoaded: number; load: number };
    console.log(
      `# run page: index.html ${bytes.html} bytes + page.json ${bytes.json} bytes = ${bytes.html + bytes.json} bytes; ` +
        `${data.trials.length} trials; DOMContentLoaded ${timing.domContentLoaded.toFixed(0)} ms, load ${timing.load.toFixed(0)} ms, rendered ${loadMs.toFixed(0)} ms after navigation started`,
    );
    await screenshot(page, 'run-page-finished.png');
    await page.close();
  });

  it('a copy opened from a file shows the snapshot embedded in it', async () => {
    const copy = join(await tempDir(), 'index.html');
    await copyFile(stack.bucket.pathOf(layout.runPage(runId)), copy);
    const { page, errors } = await openPage(browser, pathToFileURL(copy).href);
    assert.equal(await page.getAttribute('body', 'data-state'), 'deployed');
    const data = JSON.parse(
      await readFile(stack.bucket.pathOf(layout.runPageData(runId)), 'utf8'),
    ) as RunPageData;
    assert.equal(await page.$$eval('#trials tbody tr', (trs) => trs.length), data.trials.length);
    assert.match((await page.textContent('#status')) ?? '', /opened from a file/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('the models page lists the deployed version', async () => {
    const { page, errors } = await openPage(
      browser,
      `${stack.pagesUrl}/${layout.modelsPage('babyweight')}`,
    );
    const versions = await page.$$eval('#versions tbody tr', (trs) =>
      trs.map((tr) => tr.getAttribute('data-version')),
    );
    assert.deepEqual(versions, [runId]);
    assert.match(
      (await page.textContent('#subtitle')) ?? '',
      new RegExp(`serving version ${runId}`),
    );
    assert.deepEqual(errors, []);
    await screenshot(page, 'models-page.png');
    await page.close();
  });

  it('`bucketml run` and `bucketml runs` show the numbers the page shows', async () => {
    const { page } = await openPage(browser, pageUrl);
    const shown = await page.$$eval('#trials tbody tr', (trs) =>
      trs.map((tr) => [
        tr.getAttribute('data-trial-id'),
        tr.querySelector('.state .badge')?.textContent,
        tr.querySelector('.objective')?.textContent,
        tr.querySelector('.duration')?.textContent,
      ]),
    );
    await page.close();
    const run = await runCli(['run', runId, '--bucket', stack.bucket.root]);
    assert.equal(run.code, 0, run.stderr);
    // Each trial's line of the CLI's table: trial, state, objective, duration, in the page's order.
    const cliRows = run.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/))
      .filter((cells) => shown.some(([id]) => cells[1] === id) && /^(\d+|–)$/.test(cells[0]));
    assert.deepEqual(
      cliRows.map((c) => [c[1], c[2], c[3], c.at(-2)]),
      shown.map(([id, state, objective, duration]) => [id, state, objective, duration]),
    );
    const runs = await runCli(['runs', '--bucket', stack.bucket.root]);
    assert.equal(runs.code, 0, runs.stderr);
    const line = runs.stdout.split('\n').find((l) => l.startsWith(runId));
    assert.ok(line, runs.stdout);
    const data = await stack.waitForRunPage(runId, 1000);
    assert.deepEqual(line.split(/\s{2,}/), [
      runId,
      'deployed',
      'rmse',
      data.best!.objective.toFixed(4),
      data.decision!.candidateValue!.toFixed(4),
      data.version,
      `${data.durationSeconds.toFixed(1)} s`,
    ]);
    // The gate's figures, as the page's gate table shows them.
    const gate = run.stdout.split('\n').find((l) => l.startsWith('gate: '));
    assert.equal(
      gate,
      `gate: deployed: candidate rmse ${data.decision!.candidateValue!.toFixed(4)}, serving none, ${data.decision!.evalRows} eval rows`,
    );
  });
});
