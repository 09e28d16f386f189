/**
 * @module page-writes
 * How a page's two objects are written under at-least-once delivery and concurrent stages:
 * its data (page.json) by compare-and-swap, rebuilt from the current state after every lost
 * race, and its HTML (which embeds a snapshot) only by a snapshot of a higher revision.
 */
import { embeddedRevision } from '@bucketml/pages';
import { PreconditionFailedError, type Storage } from '@bucketml/ports';

/** Attempts before a write gives up (the next step of the run writes the page again). */
const ATTEMPTS = 6;

/**
 * Writes `name` with what `build` makes of its current text (null: nothing to write), by
 * compare-and-swap on the generation read: a concurrent writer makes this one rebuild. Returns
 * what was written.
 */
export async function writePageData<T extends { revision: number }>(
  storage: Storage,
  name: string,
  build: (previous: string | null) => Promise<T | null>,
): Promise<T | null> {
  for (let attempt = 1; ; attempt++) {
    const existing = await storage.read(name);
    const data = await build(existing ? existing.data.toString('utf8') : null);
    if (!data) return null;
    try {
      await storage.write(name, JSON.stringify(data) + '\n', {
        ifGenerationMatch: existing?.generation ?? '0',
        contentType: 'application/json',
      });
      return data;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= ATTEMPTS) throw err;
    }
  }
}

/** Writes a page's HTML unless the page there already embeds revision `revision` or a later one. */
export async function writePageHtml(
  storage: Storage,
  name: string,
  html: string,
  revision: number,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const existing = await storage.read(name);
    if (existing && (embeddedRevision(existing.data.toString('utf8')) ?? -1) >= revision) return;
    try {
      await storage.write(name, html, {
        ifGenerationMatch: existing?.generation ?? '0',
        contentType: 'text/html; charset=utf-8',
      });
      return;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= ATTEMPTS) throw err;
    }
  }
}
