/**
 * @module verbs/rollback
 * `bucketml rollback --bucket DIR|gs://B --model M [--to VERSION] [--reason TEXT]`: serves the
 * previous version again (or VERSION), by compare-and-swap on the serving pointer, after
 * checking that it loads; the change goes into the serving history and a NOTICE event.
 */
import { isModelName, parseRunId } from '@bucketml/contracts';
import { openBucketStorage } from '../bucket-storage.js';
import { UsageError } from '../flags.js';
import { defineVerb } from '../verb.js';

export const rollback = defineVerb({
  name: 'rollback',
  summary: 'serve the previously serving version of a model again (or --to VERSION)',
  description: `Moves models/<model>/serving.json back to the version that served before the current one (or
to --to VERSION), by compare-and-swap: a deployment that moved the pointer meanwhile is not
undone: the rollback fails and says so. The version must load; the change is appended to
models/<model>/history.jsonl and predict serves it within a second, as it does a deployment.
A pointer write with no history line (a rollback or deployment cut off between the swap and the
append) has its line recorded first; so a rollback retried after that serves what it moved to
and is not done again. A serving.json that is not a valid pointer is replaced only with --to.`,
  flags: [
    {
      name: 'bucket',
      type: 'string',
      default: '.bucket',
      help: 'the bucket: a directory (the embedded default) or gs://<bucket>',
    },
    { name: 'model', type: 'string', required: true, help: 'the model to roll back' },
    {
      name: 'to',
      type: 'string',
      help: 'the version (run id) to serve (default: the previous one)',
    },
    {
      name: 'reason',
      type: 'string',
      help: 'why, recorded in the history and the event (default: "rolled back from <version>")',
    },
  ],
  async run(flags) {
    if (!isModelName(flags.model))
      throw new UsageError(`--model must be a model name (got ${JSON.stringify(flags.model)})`);
    // A version is the run that made it; anything else names no folder of models/<model>/.
    if (flags.to !== undefined && parseRunId(flags.to)?.model !== flags.model)
      throw new UsageError(
        `--to must be a version of ${flags.model}: a run id ${flags.model}-<12 hex digits> (got ${JSON.stringify(flags.to)})`,
      );
    const { storage, admin } = await openBucketStorage(flags.bucket);
    try {
      const { change, moved, reconciled } = await admin.rollbackServing(storage, flags.model, {
        to: flags.to,
        reason: flags.reason,
      });
      if (reconciled)
        process.stdout.write(
          `${change.model}: the ${reconciled.reason} ${reconciled.from ?? '(none)'} → ${reconciled.to} that moved the pointer had no history line: recorded it now\n`,
        );
      if (!moved) {
        process.stdout.write(`${change.model}: ${change.to} is already serving (nothing moved)\n`);
        return 0;
      }
      // The structured event, as the pipeline's stages log theirs (stderr: stdout says it plainly).
      process.stderr.write(
        `${JSON.stringify({ severity: 'NOTICE', message: `rolled back ${change.model} from ${change.from ?? 'a broken pointer'} to ${change.to}`, stage: 'rollback', ...change })}\n`,
      );
      process.stdout.write(
        `${change.model}: serving ${change.to} (was ${change.from ?? 'a broken pointer'})\n`,
      );
      return 0;
    } catch (err) {
      if (!(err instanceof admin.RollbackError)) throw err;
      process.stderr.write(`bucketml rollback: ${err.message}\n`);
      return 1;
    }
  },
});
