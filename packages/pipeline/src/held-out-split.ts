/**
 * @module held-out-split
 * A drop without evaluation files: one part of a training CSV, the rows kept for training or
 * those held out for evaluation, streamed (memory stays flat whatever the file's size).
 *
 * A row's side is a hash of its bytes (FNV-1a; its line ending left out), not its position: the
 * same row is on the same side in every drop it is part of, a file with rows added or
 * reordered keeps its earlier rows where they were, and duplicated rows never straddle the
 * split. Records are found as the CSV reader finds them: a line break inside double quotes
 * belongs to the field, and a record longer than the reader's limit is refused as it would be.
 * Blank lines are left out.
 */
import { DataError, MAX_RECORD_BYTES } from '@bucketml/model';

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const NEWLINE = Buffer.from('\n');

/** Whether a record (without its line ending) is held out: 1 in `every`, by its hash. */
export function isHeldOut(record: Uint8Array, every: number): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < record.length; i++) h = Math.imul(h ^ record[i], 0x01000193);
  return (h >>> 0) % every === 0;
}

export interface SplitOptions {
  part: 'train' | 'eval';
  /** 1 in `every` rows is held out. */
  every: number;
  /**
   * The first record starts both parts. (A headerless spec's file may still begin with a row
   * of column names, which the reader recognises: split like any row, it is first in its part
   * all the same.)
   */
  header: boolean;
  /** The file's name, for errors. */
  file: string;
  /** Incremented per row the part receives. */
  counted?: { rows: number };
}

/** The records of one part of a CSV's chunks, as chunks. */
export async function* splitPart(
  chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  { part, every, header, file, counted = { rows: 0 } }: SplitOptions,
): AsyncGenerator<Buffer> {
  let carry: Buffer = Buffer.alloc(0);
  let first = true;
  let line = 1; // where `carry` starts
  const take = (record: Buffer, out: Buffer[]) => {
    let end = record.length;
    while (end > 0 && (record[end - 1] === LF || record[end - 1] === CR)) end--;
    if (end === 0) return; // a blank line
    const isHeader = first && header;
    first = false;
    if (!isHeader) {
      if (isHeldOut(record.subarray(0, end), every) !== (part === 'eval')) return;
      counted.rows++;
    }
    // The last record of a file may lack its line break; the part's next record needs one.
    out.push(record[record.length - 1] === LF ? record : Buffer.concat([record, NEWLINE]));
  };
  for await (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const buf = carry.length ? Buffer.concat([carry, bytes]) : bytes;
    const out: Buffer[] = [];
    let start = 0;
    let scan = 0;
    let quoted = false;
    let lines = 0; // line breaks from `start`, inside quotes included
    // The next quote at or after `scan` (searched once per quote, not once per line).
    let quote = buf.indexOf(QUOTE);
    for (;;) {
      const lf = buf.indexOf(LF, scan);
      if (lf < 0) break;
      // Quotes between the scan position and the line break toggle whether it ends the record.
      for (; quote >= 0 && quote < lf; quote = buf.indexOf(QUOTE, quote + 1)) quoted = !quoted;
      scan = lf + 1;
      lines++;
      if (quoted) continue;
      take(buf.subarray(start, scan), out);
      start = scan;
      line += lines;
      lines = 0;
    }
    // The unfinished record is scanned again with the next chunk (from its start, unquoted).
    carry = Buffer.from(buf.subarray(start));
    if (carry.length > MAX_RECORD_BYTES)
      throw new DataError(
        `${file}: a record longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB starts at line ${line} (an unclosed quote?)`,
        file,
        line,
      );
    if (out.length) yield Buffer.concat(out);
  }
  const out: Buffer[] = [];
  if (carry.length) take(carry, out);
  if (out.length) yield Buffer.concat(out);
}
