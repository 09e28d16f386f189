/**
 * @module bench/equality
 * The fused trainer against the TensorFlow.js reference (wasm) on the quality bench's tables
 * (quality/tables.json: the course models with their built-in specs, the others with the spec
 * inferred from the label), the same seeds, the default hyperparameters (no study): the eval
 * objective (RMSE or log loss) of each, their ratio per table (median over seeds), and the
 * training time. This is where lazy Adam on the tables is judged against dense Adam.
 * BENCH_TABLES=a,b limits the tables; BENCH_SEEDS=1,2,3 the seeds. BENCH_EQUALITY_CONTROL=cpu
 * also trains each seed on tfjs's cpu backend: the reference against itself, the same
 * arithmetic summed in another order, is how far float32 alone moves one seed's result.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, runWorker } from './stats.ts';

const SEEDS = (process.env.BENCH_SEEDS ?? '1,2,3').split(',').map(Number);
const CONTROL = process.env.BENCH_EQUALITY_CONTROL;

interface Trained {
  value: number;
  seconds: number;
  objective: string;
}

const train = (engine: string, table: string, seed: number) =>
  runWorker<Trained>('equality-worker.ts', [engine, table, String(seed)]);

export async function run() {
  const all = (
    JSON.parse(readFileSync(join(import.meta.dirname, 'quality/tables.json'), 'utf8')) as {
      tables: { name: string }[];
    }
  ).tables.map((t) => t.name);
  const names = process.env.BENCH_TABLES?.split(',') ?? all;
  const rows = [];
  for (const table of names) {
    const ratios: number[] = [];
    const controlRatios: number[] = [];
    const times = { fused: [] as number[], wasm: [] as number[] };
    let objective = '';
    for (const seed of SEEDS) {
      const fused = await train('fused', table, seed);
      const reference = await train('wasm', table, seed);
      objective = fused.objective;
      ratios.push(fused.value / reference.value);
      times.fused.push(fused.seconds);
      times.wasm.push(reference.seconds);
      const control = CONTROL ? await train(CONTROL, table, seed) : undefined;
      if (control) controlRatios.push(control.value / reference.value);
      console.log(
        `${table} seed ${seed}: ${objective} fused ${fused.value.toFixed(4)} (${fused.seconds.toFixed(1)} s), tfjs wasm ${reference.value.toFixed(4)} (${reference.seconds.toFixed(1)} s), ratio ${(fused.value / reference.value).toFixed(4)}${control ? `; tfjs ${CONTROL} ${control.value.toFixed(4)}, ${CONTROL} / wasm ${(control.value / reference.value).toFixed(4)}` : ''}`,
      );
    }
    rows.push({
      table,
      objective,
      ratio: round(median(ratios)),
      worstRatio: round(Math.max(...ratios)),
      fusedSeconds: round(median(times.fused)),
      referenceSeconds: round(median(times.wasm)),
      ...(CONTROL
        ? {
            controlRatios: controlRatios.map(round),
            ratios: ratios.map(round),
          }
        : {}),
    });
  }
  for (const r of rows)
    console.log(
      `${r.table}: ${r.objective} fused / reference ${r.ratio} (median of ${SEEDS.length} seeds; worst ${r.worstRatio}), training ${r.fusedSeconds} s vs ${r.referenceSeconds} s`,
    );
  return { bench: 'equality', seeds: SEEDS, rows };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
