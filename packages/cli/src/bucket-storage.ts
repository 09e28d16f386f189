/**
 * @module bucket-storage
 * A bucket as the pipeline's Storage port, for the verbs that change what serves (`models`,
 * `rollback`): they need its compare-and-swap, so they use the pipeline's own code and
 * adapters, loaded when run. Those are development dependencies of this package: the trainer
 * image, which installs only what training needs, does not carry them.
 */
import { realpath, stat } from 'node:fs/promises';
import { UsageError } from './flags.js';

type Storage = import('@bucketml/ports').Storage;

/** The Storage of `--bucket DIR` or `--bucket gs://B`, and the pipeline's model admin. */
export async function openBucketStorage(bucket: string): Promise<{
  storage: Storage;
  admin: typeof import('@bucketml/pipeline/admin');
}> {
  const admin = await import('@bucketml/pipeline/admin').catch(() => {
    throw new UsageError(
      'this install has no pipeline (the trainer image carries training only): run it from a full install (npm ci at the repository root)',
    );
  });
  const location = bucket.startsWith('gs://') ? bucket : await directory(bucket);
  if (!location) throw new UsageError(`--bucket: ${bucket} is not a directory`);
  const { storage, prefix } = await admin.storageAt(location).catch((err: Error) => {
    throw new UsageError(`--bucket ${err.message}`);
  });
  if (prefix)
    throw new UsageError(`--bucket ${bucket}: expected gs://<bucket name>, without a path`);
  return { storage, admin };
}

/** `path` resolved, if it is a directory (a file would read as an empty bucket). */
async function directory(path: string): Promise<string | null> {
  const resolved = await realpath(path).catch(() => null);
  return resolved && (await stat(resolved)).isDirectory() ? resolved : null;
}
