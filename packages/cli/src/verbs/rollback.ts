/**
 * @module verbs/rollback
 * `bucketml rollback --bucket DIR|gs://B --model M [--to VERSION] [--reason TEXT]`: serves the
 * previous version again (or VERSION), by compare-and-swap on the serving pointer, after
 * checking that it loads; the change goes into the serving history and a NOTICE event.
 */
import { isModelName } from '@bucketml/contracts';
import { openBucketStorage } from '../bucket-storage.js';
import { UsageError } from '../flags.js';
import { defineVerb } from '../verb.js';

export const rollback = defineVerb({
  name: 'rollback',
  summary: 'serve the previously serving version of a model again (or --to VERSION)',
  description: `Moves models/<model>/serving.json back to the version that served before the current one (or
to --to VERSION), by compare-and-swap: a deployment that moved the pointer meanwhile is not
undone. The version must load; the change is appended to models/<model>/history.jsonl and
predict serves it within a second, as it does a deployment.`,
  flags: [
    {
      name: 'bucket',
      type: 'string',
      default: '.bucket',
      help: 'the bucket: a directory (the embedded default) or gs://<bucket>',
    },
    { name: 'model', type: 'string', required: true, help: 'the model to roll back' },
    { name: 'to', type: 'string', help: 'the version to serve (default: the previous one)' },
    {
      name: 'reason',
      type: 'string',
      help: 'why, recorded in the history and the event (default: "rolled back from <version>")',
    },
  ],
  async run(flags) {
    if (!isModelName(flags.model))
      throw new UsageError(`--model must be a model name (got ${JSON.stringify(flags.model)})`);
    const { storage, admin } = await openBucketStorage(flags.bucket);
    try {
      const change = await admin.rollbackServing(storage, flags.model, {
        to: flags.to,
        reason: flags.reason,
      });
      // The structured event, as the pipeline's stages log theirs (stderr: stdout says it plainly).
      process.stderr.write(
        `${JSON.stringify({ severity: 'NOTICE', message: `rolled back ${change.model} from ${change.from} to ${change.to}`, stage: 'rollback', ...change })}\n`,
      );
      process.stdout.write(`${change.model}: serving ${change.to} (was ${change.from})\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof admin.RollbackError)) throw err;
      process.stderr.write(`bucketml rollback: ${err.message}\n`);
      return 1;
    }
  },
});
