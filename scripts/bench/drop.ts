/**
 * @module bench/drop
 * A drop of many files on the embedded default: BENCH_FILES (default 100) training files of
 * BENCH_ROWS (default 800) babyweight rows each, plus the eval file, copied into
 * data/babyweight/ of a fresh local stack. The figures: from the last file written (the folder
 * settles `settleMs` later) to the run created and to tuning started (run.json's history), the
 * storage events answered with an error (each is redelivered), and the run count (one drop, one
 * run). The study is then cancelled by stopping the stack: tuning is not what is measured.
 * The rows are the course's babyweight sample (data/babyweight/train.csv), cut in turn, so files
 * repeat rows once the sample is used up.
 */
import { mkdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layout, type RunRecord } from '@bucketml/contracts';
import { startLocalStack } from '@bucketml/local-stack';
import { RunStore } from '@bucketml/pipeline';

const FILES = Number(process.env.BENCH_FILES ?? 100);
const ROWS = Number(process.env.BENCH_ROWS ?? 800);
const SETTLE_MS = 2000;

export async function run(): Promise<object> {
  const root = join(import.meta.dirname, '../..');
  const bucketDir = mkdtempSync(join(tmpdir(), 'bucketml-drop-'));
  const errors: string[] = [];
  const stack = await startLocalStack({
    bucketDir,
    predictPort: 0,
    settleMs: SETTLE_MS,
    onLog: (l) => {
      if (l.source === 'eventarc' && l.event?.severity === 'WARNING') errors.push(l.raw);
    },
  });
  try {
    const sample = (await readFile(join(root, 'data/babyweight/train.csv'), 'utf8'))
      .trimEnd()
      .split('\n');
    const dir = join(bucketDir, layout.dataPrefix('babyweight'));
    await mkdir(dir, { recursive: true });
    console.log(`writing ${FILES} files of ${ROWS} rows and eval.csv into ${dir}`);
    const copyStarted = performance.now();
    await copyFile(join(root, 'data/babyweight/eval.csv'), join(dir, 'eval.csv'));
    for (let i = 0; i < FILES; i++) {
      const rows = Array.from({ length: ROWS }, (_, r) => sample[(i * ROWS + r) % sample.length]);
      await writeFile(join(dir, `train-${String(i).padStart(3, '0')}.csv`), rows.join('\n') + '\n');
    }
    const lastWrite = Date.now();
    const copySeconds = (performance.now() - copyStarted) / 1000;
    const runId = await stack.runIdOfDrop('babyweight');
    const runs = new RunStore(stack.bucket);
    let run: RunRecord | undefined;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
      run = (await runs.get(runId))?.run;
      if (run?.history.some((h) => h.state === 'tuning' || h.state === 'failed')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!run?.history.some((h) => h.state === 'tuning'))
      throw new Error(`run ${runId} did not start tuning within 120 s: ${JSON.stringify(run)}`);
    const at = (state: string) => Date.parse(run!.history.find((h) => h.state === state)!.at);
    const createdS = (Date.parse(run.history[0].at) - lastWrite) / 1000;
    const tuningS = (at('tuning') - lastWrite) / 1000;
    const runCount = (await stack.bucket.list('runs/')).filter((o) =>
      o.name.endsWith('/run.json'),
    ).length;
    const result = {
      files: FILES + 1,
      rowsPerFile: ROWS,
      copySeconds: Number(copySeconds.toFixed(2)),
      settleMs: SETTLE_MS,
      lastWriteToRunCreatedSeconds: Number(createdS.toFixed(2)),
      lastWriteToTuningSeconds: Number(tuningS.toFixed(2)),
      settledToTuningSeconds: Number((tuningS - SETTLE_MS / 1000).toFixed(2)),
      storageEventErrors: errors.length,
      runs: runCount,
    };
    console.log(
      `${FILES + 1} files: run created ${createdS.toFixed(2)} s and tuning started ${tuningS.toFixed(2)} s after the last write (the folder settles ${SETTLE_MS / 1000} s after it); ${errors.length} storage events answered with an error; ${runCount} run(s)`,
    );
    return result;
  } finally {
    await stack.stop();
  }
}
