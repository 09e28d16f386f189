/**
 * @module gcs-fuse
 * gs:// URIs as paths under Vertex AI's Cloud Storage FUSE mount; refused elsewhere with the reason.
 */
import { existsSync } from 'node:fs';
import { setting } from '@bucketml/contracts';

/**
 * Vertex AI training mounts Cloud Storage with Cloud Storage FUSE at /gcs/<bucket>/, so a
 * gs:// URI is read and written as a file there (AIP_MODEL_DIR arrives as gs://…). Elsewhere
 * gs:// is refused with the reason.
 */
export const GCS_FUSE_ROOT = setting('BUCKETML_GCS_FUSE_ROOT')!;

export function localPathOf(uri: string, flag: string): string {
  if (!uri.startsWith('gs://')) return uri;
  if (!existsSync(GCS_FUSE_ROOT))
    throw new Error(
      `${flag} ${uri}: gs:// paths are read through Cloud Storage FUSE at ${GCS_FUSE_ROOT}/ (as on Vertex AI), which is not mounted here; use a local path`,
    );
  return `${GCS_FUSE_ROOT}/${uri.slice('gs://'.length)}`;
}
