import type { Storage } from '@bucketml/ports';

/** BUCKETML_BUCKET: a directory (the embedded default) or gs://bucket. */
export async function storageFromEnv(env = process.env): Promise<Storage> {
  const bucket = env.BUCKETML_BUCKET;
  if (!bucket) throw new Error('BUCKETML_BUCKET is not set');
  if (bucket.startsWith('gs://')) throw new Error('gs:// buckets need the Cloud Storage adapter, which this build does not include yet');
  const { DirectoryBucket } = await import('@bucketml/ports/directory-bucket');
  return new DirectoryBucket(bucket);
}
