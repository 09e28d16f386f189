/**
 * @module object-update
 * Read-modify-write of one bucket object that several stages (or redeliveries) may write at
 * once: the new text is made from the text read and written by compare-and-swap on the
 * generation read, so a lost race reads again and makes it again, and no writer's change is
 * lost. The page data, the study index and the serving history are written so.
 */
import { PreconditionFailedError, type Storage } from '@bucketml/ports';

export interface UpdateOptions {
  contentType?: string;
  /** Races lost before giving up (default 10). */
  attempts?: number;
}

/**
 * Writes what `next` makes of the object's current text (null when absent); `next` returning
 * null means there is nothing to write. Returns whether it wrote. Throws once `attempts` races
 * in a row were lost (the caller's retry, e.g. a redelivery, starts again).
 */
export async function updateObject(
  storage: Storage,
  name: string,
  next: (current: string | null) => string | null | Promise<string | null>,
  options: UpdateOptions = {},
): Promise<boolean> {
  const attempts = options.attempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    const existing = await storage.read(name);
    const text = await next(existing ? existing.data.toString('utf8') : null);
    if (text === null) return false;
    try {
      await storage.write(name, text, {
        ifGenerationMatch: existing?.generation ?? '0',
        ...(options.contentType ? { contentType: options.contentType } : {}),
      });
      return true;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      if (attempt >= attempts)
        throw new Error(`${name} kept changing: ${attempts} writes in a row lost their race`, {
          cause: err,
        });
    }
  }
}
