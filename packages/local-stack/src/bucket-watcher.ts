/**
 * @module bucket-watcher
 * Watches the bucket directory and sends the storage trigger exactly what Eventarc sends for
 * a finalized object: a binary-mode CloudEvent of type google.cloud.storage.object.v1.finalized
 * with the object's metadata as data. A file copied in with `cp` counts as finalized once its
 * size and generation have stayed the same for one poll. Deliveries that fail are retried with
 * backoff, like Eventarc; `duplicate` > 1 (tests) delivers every event several times.
 */
import { createHash } from 'node:crypto';
import { OBJECT_FINALIZED, type StorageObjectData } from '@bucketml/contracts';
import type { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import type { ObjectInfo } from '@bucketml/ports';

export interface WatcherOptions {
  bucketName: string;
  prefix: string;
  /** The objects to watch (default: every object under prefix). */
  list?: () => Promise<ObjectInfo[]>;
  /** Announce the objects present at start too (default: only those that come later). */
  announceExisting?: boolean;
  targetUrl: string;
  pollMs?: number;
  duplicate?: number;
  onDelivery?: (name: string, status: number | string) => void;
}

/** Eventarc for a directory bucket: `start` begins polling; `stop` awaits deliveries in flight. */
export class BucketWatcher {
  private readonly delivered = new Map<string, string>();
  private readonly pending = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly bucket: DirectoryBucket,
    private readonly options: WatcherOptions,
  ) {}

  /**
   * Objects present at start are not announced (Eventarc does not replay history either),
   * unless announceExisting: requests written while the stack was down.
   */
  async start(): Promise<void> {
    if (!this.options.announceExisting)
      for (const o of await this.objects()) this.delivered.set(o.name, key(o));
    const tick = async () => {
      if (this.stopped) return;
      await this.poll().catch(() => undefined);
      if (!this.stopped) this.timer = setTimeout(tick, this.options.pollMs ?? 200);
    };
    this.timer = setTimeout(tick, this.options.pollMs ?? 200);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.inflight]);
  }

  private async poll(): Promise<void> {
    for (const o of await this.objects()) {
      const k = key(o);
      if (this.delivered.get(o.name) === k) continue;
      if (this.pending.get(o.name) !== k) {
        this.pending.set(o.name, k); // seen once; finalized if unchanged at the next poll
        continue;
      }
      this.pending.delete(o.name);
      this.delivered.set(o.name, k);
      for (let i = 0; i < (this.options.duplicate ?? 1); i++) {
        const p = this.deliver(o).finally(() => this.inflight.delete(p));
        this.inflight.add(p);
      }
    }
  }

  private objects(): Promise<ObjectInfo[]> {
    return this.options.list ? this.options.list() : this.bucket.list(this.options.prefix);
  }

  private async deliver(o: ObjectInfo): Promise<void> {
    const { bucketName, targetUrl } = this.options;
    const time = o.updated.toISOString();
    // The fields the stages read, and the rest of a real event's.
    const data: StorageObjectData & Record<string, string> = {
      kind: 'storage#object',
      id: `${bucketName}/${o.name}/${o.generation}`,
      bucket: bucketName,
      name: o.name,
      generation: o.generation,
      metageneration: '1',
      size: String(o.size),
      contentType: o.name.endsWith('.csv') ? 'text/csv' : 'application/octet-stream',
      timeCreated: time,
      updated: time,
    };
    const headers = {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-type': OBJECT_FINALIZED,
      'ce-source': `//storage.googleapis.com/projects/_/buckets/${bucketName}`,
      'ce-subject': `objects/${o.name}`,
      // The same event keeps its id across redeliveries, as with Eventarc.
      'ce-id': createHash('sha256').update(`${o.name}#${o.generation}`).digest('hex').slice(0, 16),
      'ce-time': time,
    };
    for (
      let attempt = 0, delay = 500;
      attempt < 12 && !this.stopped;
      attempt++, delay = Math.min(delay * 2, 10_000)
    ) {
      try {
        const res = await fetch(targetUrl, {
          method: 'POST',
          headers,
          body: JSON.stringify(data),
          signal: AbortSignal.timeout(300_000),
        });
        this.options.onDelivery?.(o.name, res.status);
        if (res.ok) return;
      } catch (err) {
        this.options.onDelivery?.(o.name, String((err as Error).message));
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

function key(o: ObjectInfo): string {
  return `${o.generation}:${o.size}`;
}
