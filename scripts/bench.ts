/**
 * @module bench
 * `npm run bench -- <name>`: runs one benchmark, prints its figures as it goes and, as the last
 * line, one JSON object with them. Results and the commands are recorded in docs/benchmarks.md.
 */
/** The benchmarks by name, each module loaded only when it runs. */
const BENCHES: Record<string, () => Promise<{ run(): Promise<object> }>> = {
  training: () => import('./bench/training.ts'),
  tuning: () => import('./bench/tuning.ts'),
  serving: () => import('./bench/serving.ts'),
  quality: () => import('./bench/quality.ts'),
  drop: () => import('./bench/drop.ts'),
  data: () => import('./bench/data.ts'),
  equality: () => import('./bench/equality.ts'),
  study: () => import('./bench/study.ts'),
  batch: () => import('./bench/batch.ts'),
};

const name = process.argv[2];
if (!name || !BENCHES[name]) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}>`);
  process.exit(2);
}
const result = await (await BENCHES[name]()).run();
console.log(JSON.stringify(result));
