/**
 * @module bench/data-worker
 * One measurement of the data benchmark (data.ts) in a fresh process, so its peak RSS is its
 * own: argv[2] is `validate` (data-upload's pass: every row checked and profiled, none kept),
 * `read` (the trainer's: rows read and encoded into typed arrays) or `split` (a drop without an
 * evaluation file: the file streamed into its training and held-out parts, the parts' bytes
 * counted, not kept), argv[3] a babyweight CSV.
 * Prints {rows, seconds, peakRssMb, heldBytesPerRow}.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { HELD_OUT_EVERY } from '@bucketml/contracts';
import {
  BUILTIN_SPECS,
  FeatureEncoder,
  fileSource,
  heldOutPart,
  readDataset,
} from '@bucketml/model';
import { validateDrop } from '@bucketml/pipeline';

const [mode, file] = process.argv.slice(2);
const spec = BUILTIN_SPECS.babyweight;
/**
 * Heap and array buffers in use after a full GC. Twice, a moment apart: array buffers are freed
 * by a task after the GC that finds them dead, so one GC can still count a read's discarded
 * chunks (up to 60 bytes a row here, at random).
 */
const heap = async () => {
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 50));
  globalThis.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const before = await heap();
let start = performance.now();
let rows: number;
let held = 0;
if (mode === 'validate') {
  // A drop's shape: the big file trains, the course's eval file evaluates.
  const evalFile = join(import.meta.dirname, '../../data/babyweight/eval.csv');
  const { train } = await validateDrop(spec, [fileSource(file)], [fileSource(evalFile)]);
  rows = train.size;
} else if (mode === 'read') {
  const data = await readDataset([fileSource(file)], new FeatureEncoder(spec));
  rows = data.size;
  const after = performance.now();
  held = (await heap()) - before;
  start += performance.now() - after; // the wait for the GC is not the read's time
  if (data.labels.length !== rows) throw new Error('unreachable: keeps the data alive');
} else if (mode === 'split') {
  // Each part read from the file, as data-upload writes them (1 MiB chunks, as storage reads).
  rows = 0;
  let written = 0;
  for (const part of ['eval', 'train'] as const) {
    const counted = { rows: 0 };
    const chunks = createReadStream(file, { highWaterMark: 1 << 20 });
    const options = { part, every: HELD_OUT_EVERY, spec, file, counted };
    for await (const chunk of heldOutPart(chunks, options)) written += chunk.length;
    rows += counted.rows;
  }
  if (written === 0) throw new Error('unreachable: the parts are read');
} else throw new Error(`unknown mode ${mode}`);
const seconds = (performance.now() - start) / 1000;
console.log(
  JSON.stringify({
    rows,
    seconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    heldBytesPerRow: mode === 'read' ? held / rows : null,
  }),
);
