/**
 * @module trained-rows
 * The rows a deployed version trained on, as the hashes of their values (`CsvRow.valuesHash`),
 * so the gate can leave them out of the data it compares the serving version on: a model
 * scored on rows it trained on looks better than it is, and a drop whose evaluation file holds
 * rows an earlier drop trained on (the same table cut another way) would keep a worse model
 * serving. Read from the version's run's training inputs in the bucket; a version made
 * elsewhere, or whose inputs are gone, has none (nothing is left out).
 */
import { runInputs } from '@bucketml/contracts';
import { CsvSyntaxError, DataError, scanCsv } from '@bucketml/model';
import type { PipelineContext } from './context.js';

/** Past this many training rows the set is not built (4 bytes a row): nothing is left out. */
export const MAX_TRAINED_ROWS = 20_000_000;

/** A sorted set of 32-bit row hashes. */
export class RowHashes {
  constructor(private readonly sorted: Uint32Array) {}

  get size(): number {
    return this.sorted.length;
  }

  has(hash: number): boolean {
    let lo = 0;
    let hi = this.sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.sorted[mid];
      if (v === hash) return true;
      if (v < hash) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}

/**
 * The hashes of the rows `version` (a run id) trained on, or null when its run or its inputs
 * are not in the bucket or hold more than MAX_TRAINED_ROWS rows. A header row is hashed too:
 * no evaluation row has a header's values.
 */
export async function trainedRows(
  ctx: PipelineContext,
  version: string,
): Promise<RowHashes | null> {
  const current = await ctx.runs.get(version).catch(() => null);
  if (!current) return null;
  let hashes = new Uint32Array(1 << 16);
  let n = 0;
  for (const object of runInputs(current.run).train) {
    if (!(await ctx.storage.stat(object))) return null;
    try {
      await scanCsv((await ctx.storage.openRead(object)) as AsyncIterable<Buffer>, (row) => {
        if (n === hashes.length) {
          if (n >= MAX_TRAINED_ROWS) throw new TooManyRows();
          const grown = new Uint32Array(Math.min(n * 2, MAX_TRAINED_ROWS));
          grown.set(hashes);
          hashes = grown;
        }
        hashes[n++] = row.valuesHash();
      });
    } catch (err) {
      // Too many rows, or a file the reader refused when that version trained: no set.
      if (err instanceof TooManyRows || err instanceof DataError || err instanceof CsvSyntaxError)
        return null;
      throw err;
    }
  }
  return new RowHashes(hashes.subarray(0, n).sort());
}

class TooManyRows extends Error {}
