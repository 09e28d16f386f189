/**
 * @module bucket-reader
 * Read-only access to a bucket for the verbs that show what is in it (`runs`, `run`): a
 * directory (the embedded default) read directly, never through a link, as the directory
 * bucket does; a gs:// bucket through `gcloud storage` (this package carries no Cloud client
 * library: the trainer image installs just its graph).
 */
import { spawnSync } from 'node:child_process';
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { layout } from '@bucketml/contracts';
import { UsageError } from './flags.js';

export interface BucketReader {
  /** The bucket as the user named it. */
  readonly name: string;
  /** An object's text, or null when it does not exist. */
  read(object: string): Promise<string | null>;
  /** The text of every run's page data (runs/<runId>/page.json), one string per run. */
  runPageTexts(): Promise<string[]>;
}

/** The reader of a bucket named `--bucket DIR` or `--bucket gs://B`. */
export async function openBucketReader(bucket: string): Promise<BucketReader> {
  if (bucket.startsWith('gs://')) return gcloudReader(bucket.replace(/\/+$/, ''));
  const root = await realpath(bucket).catch(() => null);
  if (!root) throw new UsageError(`--bucket: ${bucket} is not a directory`);
  return directoryReader(bucket, root);
}

function directoryReader(name: string, root: string): BucketReader {
  /** The object's text, unless a component of its path is missing, a link or not plain. */
  const read = async (object: string): Promise<string | null> => {
    const segments = object.split('/');
    if (segments.some((s) => s === '' || s === '.' || s === '..' || s.startsWith('.'))) return null;
    let at = root;
    for (const s of segments) {
      at = join(at, s);
      const info = await lstat(at).catch(() => null);
      if (!info || info.isSymbolicLink()) return null;
    }
    return readFile(at, 'utf8').catch(() => null);
  };
  return {
    name,
    read,
    async runPageTexts() {
      const runs = await readdir(join(root, layout.runsRoot)).catch(() => [] as string[]);
      const texts = await Promise.all(
        runs.filter((r) => !r.startsWith('.')).map((r) => read(layout.runPageData(r))),
      );
      return texts.filter((t) => t !== null);
    },
  };
}

function gcloud(args: string[]): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync('gcloud', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error)
    throw new Error(
      `gcloud could not run (${r.error.message}): is the Google Cloud CLI installed?`,
    );
  return { ok: r.status === 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function gcloudReader(uri: string): BucketReader {
  return {
    name: uri,
    async read(object) {
      const r = gcloud(['storage', 'cat', `${uri}/${object}`]);
      if (r.ok) return r.stdout;
      if (/not found|No URLs matched|404/i.test(r.stderr)) return null;
      throw new Error(`gcloud storage cat ${uri}/${object} failed: ${r.stderr.trim()}`);
    },
    async runPageTexts() {
      const listed = gcloud(['storage', 'ls', `${uri}/${layout.runsRoot}*/page.json`]);
      if (!listed.ok) {
        if (/No URLs matched|not found/i.test(listed.stderr)) return [];
        throw new Error(
          `gcloud storage ls ${uri}/${layout.runsRoot} failed: ${listed.stderr.trim()}`,
        );
      }
      const urls = listed.stdout.split('\n').filter((l) => l.startsWith('gs://'));
      if (urls.length === 0) return [];
      // Each page.json is one line of JSON: one cat of all of them reads back as JSON lines.
      const cat = gcloud(['storage', 'cat', ...urls]);
      if (!cat.ok) throw new Error(`gcloud storage cat failed: ${cat.stderr.trim()}`);
      return cat.stdout.split('\n').filter((l) => l.trim() !== '');
    },
  };
}
