/**
 * @module bench/data
 * Reading a drop at scale, on babyweight-shaped rows: the course's train.csv (26,518 real rows)
 * repeated to 100k, 1M and 10M rows (BENCH_DATA_ROWS to change; 10M is measured once; the rows
 * repeat, so the statistics are those of the sample). Then a study drop of 1M such rows →
 * served, split by stage (BENCH_STUDY_ROWS; 0 skips it). Each size runs in its own process for each pass, so peak RSS is the
 * pass's own: `validate` is data-upload's (rows checked, profiled, none kept), `read` the
 * trainer's (rows encoded into typed arrays), `split` a drop without an evaluation file's (the
 * file streamed into both held-out parts, so its rows/s count each row once for two reads). Reports time, rows/s, peak RSS and the bytes held
 * per encoded row; repeats are interleaved and medians reported. Then, at 1M rows, parsers side
 * by side (BENCH_PARSERS=0 skips it): ours, csv-parse, PapaParse and uDSV, each to string
 * fields and to encoded rows (parsers-worker.ts).
 */
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, runWorker } from './stats.ts';
import { once as studyOnce, STAGES } from './study.ts';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const SIZES = (process.env.BENCH_DATA_ROWS ?? '100000,1000000,10000000').split(',').map(Number);
/** Sizes from this many rows are measured once (a 10M-row pass takes minutes). */
const ONCE_FROM = 5_000_000;
/** The rows of the study drop measured after the passes (0: none). */
const STUDY_ROWS = Number(process.env.BENCH_STUDY_ROWS ?? 1_000_000);
/** Whether to compare the parsers at 1M rows, and how many times each. */
const PARSERS = process.env.BENCH_PARSERS !== '0';
const PARSER_NAMES = ['bucketml', 'csv-parse', 'papaparse', 'udsv'];
const SAMPLE = join(import.meta.dirname, '../../data/babyweight/train.csv');

interface Pass {
  rows: number;
  seconds: number;
  peakRssMb: number;
  heldBytesPerRow: number | null;
}

/** The sample's rows repeated to `rows` rows (made once per size, kept in the temp dir). */
async function repeated(rows: number): Promise<string> {
  const dir = join(tmpdir(), 'bucketml-bench-data');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `babyweight-${rows}.csv`);
  if (existsSync(file)) return file;
  const lines = readFileSync(SAMPLE, 'utf8').trimEnd().split('\n');
  const out = createWriteStream(`${file}.part`);
  for (let written = 0; written < rows;) {
    const n = Math.min(lines.length, rows - written);
    const chunk = `${lines.slice(0, n).join('\n')}\n`;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    written += n;
  }
  await new Promise<void>((r) => out.end(() => r()));
  await rename(`${file}.part`, file);
  return file;
}

const pass = (mode: string, file: string) =>
  runWorker<Pass>('data-worker.ts', [mode, file], ['--expose-gc']);

export async function run() {
  const modes = ['validate', 'read', 'split'];
  const results: Record<string, Record<string, object>> = {};
  for (const rows of SIZES) {
    const file = await repeated(rows);
    const samples: Record<string, Pass[]> = { validate: [], read: [], split: [] };
    for (let i = 0; i < (rows >= ONCE_FROM ? 1 : REPEATS); i++)
      for (const mode of modes) {
        const p = await pass(mode, file);
        samples[mode].push(p);
        console.log(
          `${rows.toLocaleString('en-US')} rows, repeat ${i + 1}/${REPEATS}, ${mode.padEnd(8)} ${p.seconds.toFixed(2)} s, ${Math.round(p.rows / p.seconds).toLocaleString('en-US')} rows/s, peak RSS ${Math.round(p.peakRssMb)} MB${p.heldBytesPerRow !== null ? `, ${p.heldBytesPerRow.toFixed(1)} bytes held per row` : ''}`,
        );
      }
    results[rows] = Object.fromEntries(
      modes.map((mode) => {
        const s = samples[mode];
        const seconds = median(s.map((p) => p.seconds));
        return [
          mode,
          {
            seconds: round(seconds),
            rowsPerSecond: Math.round(s[0].rows / seconds),
            peakRssMb: Math.round(median(s.map((p) => p.peakRssMb))),
            ...(mode === 'read'
              ? { bytesPerRow: round(median(s.map((p) => p.heldBytesPerRow!))) }
              : {}),
          },
        ];
      }),
    );
  }
  // The parsers side by side on the 1M-row file: interleaved repeats, medians.
  const parsers: Record<string, { fields: number; encode: number }> = {};
  if (PARSERS) {
    const file = await repeated(1_000_000);
    const seconds: Record<string, number[]> = {};
    for (let i = 0; i < REPEATS; i++)
      for (const name of PARSER_NAMES)
        for (const mode of ['fields', 'encode']) {
          const r = await runWorker<{ rows: number; seconds: number }>('parsers-worker.ts', [
            name,
            mode,
            file,
          ]);
          (seconds[`${name} ${mode}`] ??= []).push(r.seconds);
          console.log(
            `parser ${name.padEnd(9)} ${mode.padEnd(6)} repeat ${i + 1}/${REPEATS}: ${r.seconds.toFixed(2)} s, ${Math.round(r.rows / r.seconds).toLocaleString('en-US')} rows/s`,
          );
        }
    for (const name of PARSER_NAMES)
      parsers[name] = {
        fields: Math.round(1_000_000 / median(seconds[`${name} fields`])),
        encode: Math.round(1_000_000 / median(seconds[`${name} encode`])),
      };
  }
  // A study drop of STUDY_ROWS rows → served, split by stage (the study bench's measurement).
  let study: Awaited<ReturnType<typeof studyOnce>> | undefined;
  if (STUDY_ROWS > 0) {
    study = await studyOnce(await repeated(STUDY_ROWS));
    console.log(
      `study drop of ${STUDY_ROWS.toLocaleString('en-US')} rows: ${study.total} s from start to the first answer (${STAGES.map((k) => `${k} ${study![k]} s`).join(', ')})`,
    );
  }
  const at1M = results[1_000_000] as
    Record<string, { rowsPerSecond: number; bytesPerRow?: number; peakRssMb: number }> | undefined;
  return {
    bench: 'data',
    table: 'babyweight train.csv (26,518 real rows) repeated',
    repeats: REPEATS,
    sizes: results,
    ...(study ? { study: { rows: STUDY_ROWS, ...study } } : {}),
    ...(PARSERS ? { parsersRowsPerSecond: parsers } : {}),
    ...(at1M
      ? {
          validateRowsPerSecond: at1M.validate.rowsPerSecond,
          validatePeakRssMb: at1M.validate.peakRssMb,
          rowsPerSecond: at1M.read.rowsPerSecond,
          splitRowsPerSecond: at1M.split.rowsPerSecond,
          bytesPerRow: at1M.read.bytesPerRow,
        }
      : {}),
  };
}

const round = (x: number) => Math.round(x * 100) / 100;
