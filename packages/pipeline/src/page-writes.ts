/**
 * @module page-writes
 * How a page's two objects are written under at-least-once delivery and concurrent stages:
 * its data (page.json) by compare-and-swap, rebuilt from the current state after every lost
 * race, and its HTML (which embeds a snapshot) only by a snapshot of a higher revision.
 */
import { embeddedRevision } from '@bucketml/pages';
import type { Storage } from '@bucketml/ports';
import { updateObject } from './object-update.js';

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
  let data: T | null = null;
  const wrote = await updateObject(
    storage,
    name,
    async (previous) => {
      data = await build(previous);
      return data ? JSON.stringify(data) + '\n' : null;
    },
    { contentType: 'application/json', attempts: ATTEMPTS },
  );
  return wrote ? data : null;
}

/** Writes a page's HTML unless the page there already embeds revision `revision` or a later one. */
export async function writePageHtml(
  storage: Storage,
  name: string,
  html: string,
  revision: number,
): Promise<void> {
  await updateObject(
    storage,
    name,
    (existing) =>
      existing !== null && (embeddedRevision(existing) ?? -1) >= revision ? null : html,
    { contentType: 'text/html; charset=utf-8', attempts: ATTEMPTS },
  );
}
