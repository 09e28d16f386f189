/**
 * @module held-out
 * Data without an evaluation file: one part of a training CSV, the rows kept for training or
 * those held out for evaluation, streamed (memory stays flat whatever the file's size).
 *
 * Records are the CSV reader's own (its scanner finds them: quoted line breaks, LF, CRLF or CR,
 * a BOM, blank lines skipped, a record over its length limit refused with its line), so the two
 * parts hold exactly the rows the reader would have read from the file. A row's side is a hash
 * of its values (`CsvRow.valuesHash`), not its position nor its quoting: the same row is on the
 * same side in every drop it is part of, re-exported, reordered or among added rows, and
 * duplicated rows never straddle the split.
 *
 * Each part starts with a header row, so the reader reads it by name: the file's own, or for a
 * headerless spec the spec's column names. The checks the reader makes of a file's first row
 * are made here, on the file's, with its line: a part's first row is any row of the file, and
 * one bad row there must not refuse a part the file would have been read with.
 */
import { csvField, csvScanner, type CsvRow } from './csv.js';
import { checkFirstDataRow, csvError, isHeaderRow } from './dataset.js';
import type { ModelSpec } from './spec.js';

/** Whether a row is held out: 1 in `every`, by the hash of its values. */
export function isHeldOut(row: CsvRow, every: number): boolean {
  return row.valuesHash() % every === 0;
}

export interface HeldOutOptions {
  part: 'train' | 'eval';
  /** 1 in `every` rows is held out. */
  every: number;
  /**
   * How the file's first row is read: the spec's header rule and columns, or null when the file
   * starts with a header row (inference, before there is a spec).
   */
  spec: Pick<ModelSpec, 'header' | 'columns'> | null;
  /** The file's name, for errors. */
  file: string;
  /** Incremented per data row the part receives. */
  counted?: { rows: number };
}

/** One part of a CSV's chunks, as chunks; records end in LF. */
export async function* heldOutPart(
  chunks: AsyncIterable<Buffer | string>,
  { part, every, spec, file, counted = { rows: 0 } }: HeldOutOptions,
): AsyncGenerator<Buffer> {
  const held = part === 'eval';
  const out = new ByteSink();
  let first = true;
  const scanner = csvScanner((row: CsvRow) => {
    if (first) {
      first = false;
      if (spec === null || isHeaderRow(row.fields(), spec))
        return out.line(row.buf, row.start, row.end);
      checkFirstDataRow(row.count, spec, file, row.line);
      out.line(Buffer.from(spec.columns.map(csvField).join(',')));
    }
    if (isHeldOut(row, every) !== held) return;
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

const SINK_BYTES = 1 << 16;

/** Lines copied into one buffer, handed out whole (no buffer per record). */
class ByteSink {
  private buf = Buffer.allocUnsafe(SINK_BYTES);
  length = 0;

  line(src: Buffer, start = 0, end = src.length): void {
    const need = this.length + (end - start) + 1;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    this.length += src.copy(this.buf, this.length, start, end);
    this.buf[this.length++] = 0x0a;
  }

  /** The lines so far; the sink starts again at its usual size (not a long record's). */
  take(): Buffer {
    const lines = this.buf.subarray(0, this.length);
    this.buf = Buffer.allocUnsafe(SINK_BYTES);
    this.length = 0;
    return lines;
  }
}
