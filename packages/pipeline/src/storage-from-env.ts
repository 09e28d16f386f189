/**
 * @module storage-from-env
 * BUCKETML_BUCKET: a directory (the embedded default) or gs://bucket (Cloud Storage).
 */
import { setting } from '@bucketml/contracts';
import type { Storage } from '@bucketml/ports';

export async function storageFromEnv(env = process.env): Promise<Storage> {
  const bucket = setting('BUCKETML_BUCKET', env);
  if (!bucket) throw new Error('BUCKETML_BUCKET is not set');
  if (bucket.startsWith('gs://')) {
    const name = bucket.slice('gs://'.length).replace(/\/$/, '');
    if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(name))
      throw new Error(`BUCKETML_BUCKET=${bucket}: expected gs://<bucket name>, without a path`);
    const { GcsBucket } = await import('@bucketml/ports/gcs-bucket');
    return new GcsBucket(name);
  }
  const { DirectoryBucket } = await import('@bucketml/ports/directory-bucket');
  return new DirectoryBucket(bucket);
}
