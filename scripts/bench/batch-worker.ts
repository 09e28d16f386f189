/**
 * @module bench/batch-worker
 * One batch job in a fresh process, so its peak RSS is its own: `batch-worker.ts <bucketDir>
 * <object>` runs the stage the storage trigger calls on that object of a directory bucket and
 * prints {seconds, rows, errors, rssBeforeMb, rssPeakMb, rssSamplesMb}. RSS is sampled every
 * 100 ms; the peak is the kernel's (maxRSS).
 */
import { onBatchInput, createLogger, RunStore } from '@bucketml/pipeline';
import { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { FakeTrainingBackend, MemoryMessaging } from '@bucketml/ports/testing';

const [bucketDir, object] = process.argv.slice(2);
const bucket = new DirectoryBucket(bucketDir);
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const samples: number[] = [];
const rssBeforeMb = mb(process.memoryUsage.rss());
const sampler = setInterval(() => samples.push(mb(process.memoryUsage.rss())), 100);
const started = process.hrtime.bigint();
const summary = await onBatchInput(
  {
    storage: bucket,
    messaging: new MemoryMessaging(),
    training: new FakeTrainingBackend(),
    log: createLogger('bench', { write: () => true } as unknown as NodeJS.WritableStream),
    runs: new RunStore(bucket),
    settleMs: 0,
    seed: 1,
    crashPoint: () => undefined,
  },
  { bucket: 'bench', name: object, generation: (await bucket.stat(object))!.generation },
);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(sampler);
console.log(
  JSON.stringify({
    seconds,
    rows: summary?.rows,
    errors: summary?.errors,
    rssBeforeMb,
    rssPeakMb: mb(process.resourceUsage().maxRSS * 1024),
    rssSamplesMb: samples,
  }),
);
