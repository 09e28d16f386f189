/**
 * @module bench/study
 * Drop → first served prediction on the embedded default, as `npm start` runs it: the
 * course's babyweight files dropped into a fresh local stack (a new bucket each repeat, so
 * nothing serves before), the default study (20 trials, 5 in parallel), then a POST to
 * predict. Split by stage from run.json's history: settle (last write → run created), validate
 * (→ tuning started), trials (→ final training), final (→ gating), gate and deploy (→
 * deployed), then the first answer. Also the stack's start. BENCH_REPEATS (default 3) repeats,
 * medians reported.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layout, type RunRecord } from '@bucketml/contracts';
import { startLocalStack } from '@bucketml/local-stack';
import { RunStore } from '@bucketml/pipeline';
import { median } from './stats.ts';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const ROOT = join(import.meta.dirname, '../..');
export const STAGES = [
  'stack',
  'settle',
  'validate',
  'trials',
  'final',
  'gate+deploy',
  'predict',
] as const;

/** One drop → first answer on a fresh stack; `trainFile` replaces the course's train.csv. */
export async function once(
  trainFile = join(ROOT, 'data/babyweight/train.csv'),
): Promise<Record<(typeof STAGES)[number] | 'total', number> & { rmse: number }> {
  const bucketDir = mkdtempSync(join(tmpdir(), 'bucketml-study-'));
  const started = Date.now();
  const stack = await startLocalStack({ bucketDir, predictPort: 0 });
  const ready = Date.now();
  try {
    const dir = join(bucketDir, layout.dataPrefix('babyweight'));
    await mkdir(dir, { recursive: true });
    await copyFile(join(ROOT, 'data/babyweight/eval.csv'), join(dir, 'eval.csv'));
    await copyFile(trainFile, join(dir, 'train.csv'));
    const dropped = Date.now();
    const runId = await stack.runIdOfDrop('babyweight');
    const end = await stack.waitForRun(runId, 600_000);
    if (end.state !== 'deployed') throw new Error(`run ${runId} ended ${end.state}`);
    const res = await fetch(`${stack.predictUrl}/babyweight`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        instances: [
          { is_male: 'True', mother_age: 26, plurality: 'Single(1)', gestation_weeks: 39 },
        ],
      }),
    });
    if (!res.ok) throw new Error(`predict answered ${res.status}: ${await res.text()}`);
    const answered = Date.now();
    const run: RunRecord = (await new RunStore(stack.bucket).get(runId))!.run;
    const at = (state: string) => Date.parse(run.history.find((h) => h.state === state)!.at);
    const s = (from: number, to: number) => Math.round((to - from) / 10) / 100;
    return {
      stack: s(started, ready),
      settle: s(dropped, at('received')),
      validate: s(at('received'), at('tuning')),
      trials: s(at('tuning'), at('final-training')),
      final: s(at('final-training'), at('gating')),
      'gate+deploy': s(at('gating'), at('deployed')),
      predict: s(at('deployed'), answered),
      total: s(started, answered),
      rmse: run.decision?.candidateValue ?? NaN,
    };
  } finally {
    await stack.stop();
    rmSync(bucketDir, { recursive: true, force: true });
  }
}

export async function run() {
  const samples: Awaited<ReturnType<typeof once>>[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const r = await once();
    samples.push(r);
    console.log(
      `repeat ${i + 1}/${REPEATS}: ${r.total} s from start to the first answer (${STAGES.map((k) => `${k} ${r[k]} s`).join(', ')}); deployed rmse ${r.rmse}`,
    );
  }
  const med = (k: keyof (typeof samples)[number]) => median(samples.map((r) => r[k] as number));
  const stages = Object.fromEntries(STAGES.map((k) => [k, med(k)]));
  const result = {
    bench: 'study',
    model: 'babyweight',
    repeats: REPEATS,
    startToFirstPredictionSeconds: med('total'),
    deployedRmse: med('rmse'),
    dropToFirstPredictionSeconds: Math.round((med('total') - med('stack')) * 100) / 100,
    stages,
  };
  console.log(
    `median: ${result.startToFirstPredictionSeconds} s from start to the first answer, ${result.dropToFirstPredictionSeconds} s from the drop`,
  );
  return result;
}
