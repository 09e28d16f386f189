/**
 * @module bench/training
 * Training throughput on babyweight's default model (wide & deep, 17,298-id embedded cross) at
 * batch 8, 32, 128 and 512 and first hidden layers of 64 and 287 units: the fused trainer (what
 * trains when tfjs-node is not installed) against the TensorFlow.js reference on wasm, each run
 * in its own process, repeats interleaved, medians reported. The machine's limit is measured in
 * the same run: a plain typed-array matmul's GFLOP/s on one core, against which the fused
 * trainer's FLOP/s (6 × the dense network's multiply-adds per example; the trainer skips the
 * zeros of relu and of the encodings, so it can pass 1) is a ratio.
 */
import { BUILTIN_SPECS, deepInputSize, FeatureEncoder } from '@bucketml/model';
import { median, runWorker } from './stats.ts';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const BATCHES = [8, 32, 128, 512];
const WIDTHS = [64, 287];

/** Examples per run, so each takes a few seconds: tfjs at a small batch is slow. */
const examplesFor = (engine: string, batch: number, width: number) =>
  Math.round(
    (engine === 'fused' ? 200_000 : batch < 64 ? 6_000 : 40_000) * (width > 100 ? 0.25 : 1),
  );

const worker = (engine: string, batch: number, width: number) =>
  runWorker<{ examplesPerSecond: number; backend: string }>('training-worker.ts', [
    engine,
    String(batch),
    String(width),
    String(examplesFor(engine, batch, width)),
  ]);

/**
 * GFLOP/s of a plain typed-array matmul on one core (n = 256, i-k-j order, four rows of the
 * output at a time so each row of b is read once for four), the best of 12: what scalar
 * JavaScript reaches on this machine, the fused trainer's ceiling.
 */
function matmulGflops(): number {
  const n = 256;
  const a = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13);
  const b = Float32Array.from({ length: n * n }, (_, i) => ((i * 5) % 11) / 11);
  const c = new Float64Array(n * n);
  let best = 0;
  for (let rep = 0; rep < 12; rep++) {
    c.fill(0);
    const t0 = performance.now();
    for (let i = 0; i < n; i += 4) {
      const c0 = i * n;
      const c1 = c0 + n;
      const c2 = c1 + n;
      const c3 = c2 + n;
      for (let k = 0; k < n; k++) {
        const x0 = a[c0 + k];
        const x1 = a[c1 + k];
        const x2 = a[c2 + k];
        const x3 = a[c3 + k];
        const bk = k * n;
        for (let j = 0; j < n; j++) {
          const w = b[bk + j];
          c[c0 + j] += x0 * w;
          c[c1 + j] += x1 * w;
          c[c2 + j] += x2 * w;
          c[c3 + j] += x3 * w;
        }
      }
    }
    const s = (performance.now() - t0) / 1000;
    best = Math.max(best, (2 * n ** 3) / s / 1e9);
  }
  return best;
}

/** Training FLOPs per example: forward 2 per multiply-add, backward twice that. */
function flopsPerExample(width: number): number {
  const layout = new FeatureEncoder(BUILTIN_SPECS.babyweight).layout;
  const widths = [
    deepInputSize(layout, BUILTIN_SPECS.babyweight.hyperparameters.nembeds),
    width,
    Math.round(width / 2),
    1,
  ];
  let macs = 0;
  for (let i = 1; i < widths.length; i++) macs += widths[i - 1] * widths[i];
  return 6 * macs;
}

export async function run() {
  const engines = ['fused', 'wasm'];
  const samples = new Map<string, number[]>();
  const key = (e: string, b: number, w: number) => `${e}/${b}/${w}`;
  const limits: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    limits.push(matmulGflops());
    for (const width of WIDTHS)
      for (const batch of BATCHES)
        for (const engine of engines) {
          const r = await worker(engine, batch, width);
          const k = key(engine, batch, width);
          samples.set(k, [...(samples.get(k) ?? []), r.examplesPerSecond]);
          console.log(
            `repeat ${i + 1}/${REPEATS} nnsize ${width} batch ${String(batch).padStart(3)} ${engine.padEnd(5)} ${Math.round(r.examplesPerSecond).toLocaleString('en-US').padStart(8)} examples/s (backend ${r.backend})`,
          );
        }
  }
  const limit = median(limits);
  const rows = WIDTHS.flatMap((width) =>
    BATCHES.map((batch) => {
      const fused = Math.round(median(samples.get(key('fused', batch, width))!));
      const reference = Math.round(median(samples.get(key('wasm', batch, width))!));
      const ratioToLimit = (fused * flopsPerExample(width)) / (limit * 1e9);
      return {
        width,
        batch,
        fused,
        reference,
        speedup: round(fused / reference),
        ratioToLimit: round(ratioToLimit, 2),
      };
    }),
  );
  console.log(`machine limit: plain typed-array matmul ${limit.toFixed(2)} GFLOP/s (one core)`);
  for (const r of rows)
    console.log(
      `nnsize ${r.width} batch ${String(r.batch).padStart(3)}: fused ${r.fused.toLocaleString('en-US')} ex/s, tfjs wasm ${r.reference.toLocaleString('en-US')} ex/s → ${r.speedup}×, ${r.ratioToLimit} of the limit`,
    );
  const at = (batch: number, width = 64) =>
    rows.find((r) => r.batch === batch && r.width === width)!;
  return {
    bench: 'training',
    model: 'babyweight',
    repeats: REPEATS,
    limitGflops: round(limit, 2),
    rows,
    batch8ExamplesPerSecond: at(8).fused,
    batch512ExamplesPerSecond: at(512).fused,
    referenceBatch8ExamplesPerSecond: at(8).reference,
    referenceBatch512ExamplesPerSecond: at(512).reference,
    limitRatioBatch8: at(8).ratioToLimit,
  };
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
