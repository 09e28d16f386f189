/**
 * @module data-files
 * `--train-data`/`--eval-data` values (paths, globs, gs:// URIs) expanded to the data sources to read.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DataError, fileSource, type DataSource } from '@bucketml/model';
import { localPathOf } from './gcs-fuse.js';

/**
 * Expands `--train-data`/`--eval-data` values: plain paths, or globs whose last path segment
 * holds `*`/`?` (e.g. `data/train-*.csv`), sorted so file order — and so training — is stable.
 */
export async function expandDataFiles(patterns: string[], flag: string): Promise<DataSource[]> {
  const files: string[] = [];
  for (const uri of patterns) {
    let pattern: string;
    try {
      pattern = localPathOf(uri, flag);
    } catch (err) {
      throw new DataError((err as Error).message);
    }
    const name = basename(pattern);
    if (!/[*?]/.test(name)) {
      files.push(pattern);
      continue;
    }
    if (/[*?]/.test(dirname(pattern)))
      throw new DataError(`${flag} ${pattern}: wildcards are supported in the file name only`);
    const re = new RegExp(
      `^${name
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    const entries = await readdir(dirname(pattern)).catch(() => {
      throw new DataError(`${flag} ${pattern}: directory ${dirname(pattern)} not found`);
    });
    const matched = entries.filter((e) => re.test(e)).sort();
    if (matched.length === 0) throw new DataError(`${flag} ${pattern}: no file matches`);
    files.push(...matched.map((m) => join(dirname(pattern), m)));
  }
  if (files.length === 0) throw new DataError(`${flag} is required`);
  return files.map(fileSource);
}
