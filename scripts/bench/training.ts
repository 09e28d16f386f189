/**
 * @module bench/training
 * Training throughput on babyweight, batch 512: our trainer (custom loop, scatter-add kernel)
 * on the wasm and cpu backends, and the stock tfjs baseline (the same model with
 * tf.layers.embedding + model.fit on cpu, stock kernels). Each configuration runs in its own
 * process (a process has one backend and one kernel registry); repeats are interleaved so
 * machine noise hits all of them alike; medians and ratios are reported.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { median } from './stats.ts';

const run_ = promisify(execFile);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

async function worker(
  mode: string,
): Promise<{ examplesPerSecond: number; backend: string; examples: number }> {
  const { stdout } = await run_(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'training-worker.ts'), mode],
    {
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

export async function run() {
  const modes = ['ours-wasm', 'ours-cpu', 'stock-cpu'];
  const samples: Record<string, number[]> = Object.fromEntries(modes.map((m) => [m, []]));
  for (let i = 0; i < REPEATS; i++) {
    for (const mode of modes) {
      const r = await worker(mode);
      samples[mode].push(r.examplesPerSecond);
      console.log(
        `repeat ${i + 1}/${REPEATS} ${mode.padEnd(10)} ${Math.round(r.examplesPerSecond).toLocaleString('en-US').padStart(8)} examples/s (${r.examples} examples, backend ${r.backend})`,
      );
    }
  }
  const m = Object.fromEntries(modes.map((mode) => [mode, Math.round(median(samples[mode]))]));
  const result = {
    bench: 'training',
    model: 'babyweight',
    batchSize: 512,
    repeats: REPEATS,
    oursWasmExamplesPerSecond: m['ours-wasm'],
    oursCpuExamplesPerSecond: m['ours-cpu'],
    stockCpuExamplesPerSecond: m['stock-cpu'],
    speedupWasmVsStock: round(m['ours-wasm'] / m['stock-cpu']),
    speedupCpuVsStock: round(m['ours-cpu'] / m['stock-cpu']),
  };
  console.log(
    `median: ours wasm ${m['ours-wasm'].toLocaleString('en-US')} ex/s, ours cpu ${m['ours-cpu'].toLocaleString('en-US')} ex/s, ` +
      `stock cpu ${m['stock-cpu'].toLocaleString('en-US')} ex/s → ${result.speedupWasmVsStock}× (wasm), ${result.speedupCpuVsStock}× (cpu)`,
  );
  return result;
}

const round = (x: number) => Math.round(x * 10) / 10;
