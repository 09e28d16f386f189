/**
 * @module render
 * A page's HTML with its data embedded: the built template (dist/*.html, see inline-assets.ts)
 * with the snapshot in its <script type="application/json"> element. The page shows that
 * snapshot first and then follows page.json beside it; opened from a copy on disk, where the
 * browser may refuse the fetch, the snapshot is what it shows.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelsPageData, RunPageData } from '@bucketml/contracts';

const DIST = dirname(fileURLToPath(import.meta.url));
const templates = new Map<string, string>();

function template(name: 'run-page.html' | 'models-page.html'): string {
  let html = templates.get(name);
  if (html === undefined) {
    html = readFileSync(join(DIST, name), 'utf8');
    templates.set(name, html);
  }
  return html;
}

/** JSON that cannot end the script element it sits in (no `<` at all). */
function embeddable(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c');
}

function embed(html: string, data: unknown): string {
  const at = html.indexOf('{{DATA}}');
  return html.slice(0, at) + embeddable(data) + html.slice(at + '{{DATA}}'.length);
}

/** runs/<runId>/index.html for this data. */
export function runPageHtml(data: RunPageData): string {
  return embed(template('run-page.html'), data);
}

/** models/<model>/index.html for this data. */
export function modelsPageHtml(data: ModelsPageData): string {
  return embed(template('models-page.html'), data);
}

const EMBEDDED = /<script type="application\/json" id="bucketml-data">([\s\S]*?)<\/script>/;

/** The revision of the data embedded in a page's HTML (null: none, or not readable). */
export function embeddedRevision(html: string): number | null {
  const m = EMBEDDED.exec(html);
  if (!m) return null;
  try {
    const revision = (JSON.parse(m[1]) as { revision?: unknown } | null)?.revision;
    return typeof revision === 'number' ? revision : null;
  } catch {
    return null;
  }
}
