/**
 * @module storage-event
 * The storage trigger's event: Eventarc's object-finalized CloudEvent in the cloud, the bucket
 * watcher's locally. The deploy plan subscribes to the type, the watcher sends it, the
 * data-upload function reads its data.
 */

/** The CloudEvent type of a finalized (written) object. */
export const OBJECT_FINALIZED = 'google.cloud.storage.object.v1.finalized';

/** The fields of the event's data that the stages read. */
export interface StorageObjectData {
  bucket: string;
  name: string;
  generation?: string;
}
