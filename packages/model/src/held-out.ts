/**
 * @module held-out
 * Data without an evaluation file: one part of a training CSV, the rows kept for training or
 * those held out for evaluation, streamed (memory stays flat whatever the file's size).
 *
 * Records are the CSV reader's own (its scanner finds them: quoted line breaks, LF, CRLF or CR,
 * a BOM, blank lines skipped, a record over its length limit refused with its line), so a part
 * holds exactly the rows the reader would have read from the file. A row's side is a hash of
 * its bytes (FNV-1a), not its position: the same row is on the same side in every drop it is
 * part of, rows added or reordered keep theirs, and duplicated rows never straddle the split.
 * A header row (by the reader's own test, `isHeaderRow`) starts both parts. Each part's
 * records end in LF.
 */
import { csvScanner, type CsvRow } from './csv.js';
import { csvError } from './dataset.js';

/** Whether a record's bytes are held out: 1 in `every`, by their hash. */
export function isHeldOut(record: Uint8Array, every: number): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < record.length; i++) h = Math.imul(h ^ record[i], 0x01000193);
  return (h >>> 0) % every === 0;
}

export interface HeldOutOptions {
  part: 'train' | 'eval';
  /** 1 in `every` rows is held out. */
  every: number;
  /** Whether the first record is a header row (e.g. `(fields) => isHeaderRow(fields, spec)`). */
  isHeader(fields: string[]): boolean;
  /** The file's name, for errors. */
  file: string;
  /** Incremented per data row the part receives. */
  counted?: { rows: number };
}

/** One part of a CSV's chunks, as chunks. */
export async function* heldOutPart(
  chunks: AsyncIterable<Buffer | string>,
  { part, every, isHeader, file, counted = { rows: 0 } }: HeldOutOptions,
): AsyncGenerator<Buffer> {
  const held = part === 'eval';
  const out = new ByteSink();
  let first = true;
  const scanner = csvScanner((row: CsvRow) => {
    if (first) {
      first = false;
      if (isHeader(row.fields())) return out.line(row.buf, row.start, row.end);
    }
    if (isHeldOut(row.buf.subarray(row.start, row.end), every) !== held) return;
    counted.rows++;
    out.line(row.buf, row.start, row.end);
  });
  try {
    for await (const chunk of chunks) {
      scanner.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      if (out.length) yield out.take();
    }
    scanner.end();
  } catch (err) {
    throw csvError(err, { name: file });
  }
  if (out.length) yield out.take();
}

/** Lines copied into one buffer, handed out whole (no buffer per record). */
class ByteSink {
  private buf = Buffer.allocUnsafe(1 << 16);
  length = 0;

  line(src: Buffer, start: number, end: number): void {
    const need = this.length + (end - start) + 1;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    this.length += src.copy(this.buf, this.length, start, end);
    this.buf[this.length++] = 0x0a;
  }

  /** The lines so far; the sink starts again with a buffer of the same size. */
  take(): Buffer {
    const lines = this.buf.subarray(0, this.length);
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.length = 0;
    return lines;
  }
}
