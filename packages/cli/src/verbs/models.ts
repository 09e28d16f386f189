/**
 * @module verbs/models
 * `bucketml models [--bucket DIR|gs://B] [--model M]`: each model's deployed versions with their
 * metrics, when each served, which one serves now, and the bucket objects (with generations)
 * each was trained on.
 */
import { isModelName } from '@bucketml/contracts';
import { openBucketStorage } from '../bucket-storage.js';
import { UsageError } from '../flags.js';
import { fmt, textTable } from '../text-table.js';
import { defineVerb } from '../verb.js';

export const models = defineVerb({
  name: 'models',
  summary: "list a bucket's models: versions, metrics, lineage, which one serves",
  description: `For each model (or --model M): its deployed versions, oldest first, with their eval metrics,
when each served (from models/<model>/history.jsonl) and the dropped objects, with the
generations read, each was trained on. The serving version is marked *; a version whose
folder lacks part of its model is marked incomplete (rollback refuses it). A serving.json that
is not a valid pointer is named, with what is wrong, and the exit status is 1.`,
  flags: [
    {
      name: 'bucket',
      type: 'string',
      default: '.bucket',
      help: 'the bucket: a directory (the embedded default) or gs://<bucket>',
    },
    { name: 'model', type: 'string', help: 'only this model (default: every model)' },
  ],
  async run(flags) {
    if (flags.model !== undefined && !isModelName(flags.model))
      throw new UsageError(`--model must be a model name (got ${JSON.stringify(flags.model)})`);
    const { storage, admin } = await openBucketStorage(flags.bucket);
    const names = flags.model ? [flags.model] : await admin.listModels(storage);
    if (names.length === 0) {
      process.stdout.write(`no deployed models in ${flags.bucket}\n`);
      return 0;
    }
    let broken = false;
    for (const name of names) {
      const listing = await admin.listModelVersions(storage, name);
      process.stdout.write(`${name}: serving ${listing.serving ?? 'nothing'}\n`);
      if (listing.pointerError) {
        broken = true;
        process.stderr.write(
          `bucketml models: ${listing.pointerError} (bucketml rollback --model ${name} --to VERSION replaces it)\n`,
        );
      }
      if (listing.unrecorded)
        process.stdout.write(
          `  the pointer's last write (${listing.unrecorded.from ?? '(none)'} → ${listing.unrecorded.to}) has no history line: the periods served count it; bucketml rollback records it\n`,
        );
      const tags = [...new Set(listing.versions.flatMap((v) => Object.keys(v.metrics)))];
      process.stdout.write(
        textTable(
          ['', 'version', ...tags, 'served'],
          listing.versions.map((v) => [
            v.serving ? '*' : '',
            v.incomplete ? `${v.version} (incomplete: ${v.incomplete})` : v.version,
            ...tags.map((t) => fmt(v.metrics[t])),
            v.served.map((p) => `${p.from} → ${p.until ?? 'now'}`).join(', ') || '–',
          ]),
        ),
      );
      for (const v of listing.versions)
        if (v.lineage.length)
          process.stdout.write(
            `  ${v.version} data (training and evaluation): ${v.lineage.map((o) => `${o.name}#${o.generation}`).join(', ')}\n`,
          );
      process.stdout.write('\n');
    }
    // A broken pointer serves nothing: the listing is shown, and the exit says it is wrong.
    return broken ? 1 : 0;
  },
});
