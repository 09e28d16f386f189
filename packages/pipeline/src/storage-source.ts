/**
 * @module storage-source
 * A bucket object as a CSV source for the dataset reader. Apart from the stages' context, so
 * serving (model-store) loads it without the run page and tuning code the context imports: the
 * predict function's cold start is on the request path.
 */
import type { Readable } from 'node:stream';
import type { DataSource } from '@bucketml/model';
import type { Storage } from '@bucketml/ports';

/** `object` read under `name` (default: the object's), e.g. a run's copy under its drop's name. */
export function storageSource(storage: Storage, object: string, name = object): DataSource {
  return { name, open: async () => (await storage.openRead(object)) as unknown as Readable };
}
