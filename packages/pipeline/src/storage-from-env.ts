/**
 * @module storage-from-env
 * Which bucket a location names: a directory (the embedded default) or gs://bucket[/path]
 * (Cloud Storage). BUCKETML_BUCKET names the pipeline's bucket; AIP_STORAGE_URI a model's
 * directory in one (vertex-serving.ts).
 */
import { setting } from '@bucketml/contracts';
import type { Storage } from '@bucketml/ports';

/** The bucket `location` is in, and the prefix of its objects there ('' or ending in '/'). */
export async function storageAt(location: string): Promise<{ storage: Storage; prefix: string }> {
  if (location.startsWith('gs://')) {
    const [name, ...path] = location.slice('gs://'.length).split('/');
    if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(name))
      throw new Error(`${location}: expected gs://<bucket name>[/path]`);
    const prefix = path.filter(Boolean).join('/');
    const { GcsBucket } = await import('@bucketml/ports/gcs-bucket');
    return { storage: new GcsBucket(name), prefix: prefix ? `${prefix}/` : '' };
  }
  const { DirectoryBucket } = await import('@bucketml/ports/directory-bucket');
  return { storage: new DirectoryBucket(location), prefix: '' };
}

export async function storageFromEnv(env = process.env): Promise<Storage> {
  const bucket = setting('BUCKETML_BUCKET', env);
  if (!bucket) throw new Error('BUCKETML_BUCKET is not set');
  const { storage, prefix } = await storageAt(bucket);
  if (prefix)
    throw new Error(`BUCKETML_BUCKET=${bucket}: expected gs://<bucket name>, without a path`);
  return storage;
}
