/**
 * @module csv
 * A byte-level CSV scanner: RFC 4180 records from a stream of bytes, with the handling the
 * readers relied on csv-parse for (`bom`, `trim`, `skip_empty_lines`, `relax_column_count`):
 * a UTF-8 BOM is dropped; fields are split on commas, records on LF, CRLF or CR; a quoted field
 * may hold commas, doubled quotes and line breaks; spaces and tabs around a field are trimmed;
 * empty and blank lines are skipped; records may differ in length. Trimming is csv-parse's:
 * spaces, tabs and form feeds before a field and after a closing quote, any white space at the
 * end of an unquoted field. Bad quoting is an error
 * naming the line, as csv-parse's. test/csv.test.ts holds it equal to csv-parse on such input.
 * It is several times faster: it scans bytes and decodes each field once, where csv-parse
 * walks characters through a general state machine (docs/benchmarks.md, data).
 */

/** One record: its fields and the line it ends on (1-based, as csv-parse's `info.lines`). */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/** Bad quoting: where and what, as csv-parse's errors carry `lines`. */
export class CsvSyntaxError extends Error {
  override name = 'CsvSyntaxError';
  constructor(
    message: string,
    readonly lines: number,
  ) {
    super(message);
  }
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
/** What csv-parse's `trim` drops before a field and after a closing quote. */
const isTrimmed = (byte: number) => byte === 0x20 || byte === 0x09 || byte === 0x0c;

/**
 * The records of a byte stream, in batches (one per chunk read: a generator step per record
 * would cost more than the scan). A record cut by a chunk's end is completed by the next.
 */
export async function* csvBatches(
  input: AsyncIterable<Buffer | string>,
): AsyncGenerator<CsvRecord[]> {
  const scanner = new CsvScanner();
  for await (const chunk of input) {
    const batch = scanner.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, false);
    if (batch.length) yield batch;
  }
  const rest = scanner.push(Buffer.alloc(0), true);
  if (rest.length) yield rest;
}

/**
 * The longest record read (an unclosed quote would otherwise hold the rest of the file): past
 * it, the file is refused naming the line the record starts on.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

class CsvScanner {
  /** The start of an incomplete record, and the chunks that came after it, not yet scanned. */
  private carry: Buffer | null = null;
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  /** The line the carried bytes start on. */
  private line = 1;
  private first = true;

  push(chunk: Buffer, final: boolean): CsvRecord[] {
    // An incomplete record is scanned again only once as many new bytes have come as it has
    // (or at the end): a long record costs linear time, not a rescan per chunk.
    const pending = this.waitingBytes + chunk.length;
    if (
      this.carry &&
      !final &&
      pending < this.carry.length &&
      this.carry.length + pending <= MAX_RECORD_BYTES
    ) {
      this.waiting.push(chunk);
      this.waitingBytes += chunk.length;
      return [];
    }
    let buf = this.carry ? Buffer.concat([this.carry, ...this.waiting, chunk]) : chunk;
    this.waiting = [];
    this.waitingBytes = 0;
    if (this.first) {
      // The BOM is looked for in the first 3 bytes, however the stream is cut.
      if (buf.length < 3 && !final) {
        this.carry = buf.length ? Buffer.from(buf) : null;
        return [];
      }
      this.first = false;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    }
    const out: CsvRecord[] = [];
    let pos = 0;
    while (pos < buf.length) {
      const end = this.record(buf, pos, final, out);
      if (end < 0) break; // incomplete: wait for more bytes
      pos = end;
    }
    this.carry = pos < buf.length ? Buffer.from(buf.subarray(pos)) : null;
    if (final && this.carry) throw new Error('unreachable: a final push leaves no bytes');
    if (this.carry && this.carry.length > MAX_RECORD_BYTES)
      throw new CsvSyntaxError(
        `a record longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB starts at line ${this.line} (an unclosed quote?)`,
        this.line,
      );
    return out;
  }

  /**
   * Scans one record from `pos`; pushes it (unless blank) and returns where the next begins,
   * or -1 when the record is not complete in `buf` and more bytes may come.
   */
  private record(buf: Buffer, pos: number, final: boolean, out: CsvRecord[]): number {
    const fields: string[] = [];
    let line = this.line;
    let i = pos;
    let blank = true;
    for (;;) {
      // Leading spaces and tabs are trimmed.
      while (i < buf.length && isTrimmed(buf[i])) i++;
      if (i < buf.length && buf[i] === QUOTE) {
        blank = false;
        // A quoted field: up to the quote not followed by another.
        let start = i + 1;
        let j = start;
        let value = '';
        for (;;) {
          while (j < buf.length && buf[j] !== QUOTE) {
            if (buf[j] === LF || (buf[j] === CR && buf[j + 1] !== LF)) line++;
            j++;
          }
          if (j >= buf.length) {
            if (!final) return -1;
            throw new CsvSyntaxError(
              `Quote Not Closed: the parsing is finished with an opening quote at line ${this.line}`,
              this.line,
            );
          }
          if (buf[j + 1] === QUOTE) {
            value += buf.toString('utf8', start, j + 1);
            j += 2;
            start = j;
            continue;
          }
          if (j + 1 >= buf.length && !final) return -1;
          value += buf.toString('utf8', start, j);
          break;
        }
        i = j + 1;
        while (i < buf.length && isTrimmed(buf[i])) i++;
        if (i < buf.length && buf[i] !== COMMA && buf[i] !== LF && buf[i] !== CR)
          throw new CsvSyntaxError(
            `Invalid Closing Quote: got "${String.fromCharCode(buf[i])}" at line ${line} instead of delimiter or record delimiter`,
            line,
          );
        if (i >= buf.length && !final) return -1;
        fields.push(value);
      } else {
        const start = i;
        let j = i;
        while (j < buf.length) {
          const c = buf[j];
          if (c === COMMA || c === LF || c === CR) break;
          if (c === QUOTE)
            throw new CsvSyntaxError(
              `Invalid Opening Quote: a quote is found on field ${fields.length} at line ${line}, value is "${buf.toString('utf8', start, j).trim()}"`,
              line,
            );
          j++;
        }
        if (j >= buf.length && !final) return -1;
        // The end trimmed as csv-parse trims it (String.trimEnd: any Unicode white space).
        const value = j > start ? buf.toString('utf8', start, j).trimEnd() : '';
        if (j > start) blank = false;
        fields.push(value);
        i = j;
      }
      if (i >= buf.length) {
        // The last record of the stream, without a line break.
        if (!(blank && fields.length === 1)) out.push({ fields, line });
        this.line = line;
        return i;
      }
      if (buf[i] === COMMA) {
        blank = false;
        i++;
        continue;
      }
      // A record delimiter: LF, CRLF or CR (a CR at a chunk's end may be half of a CRLF).
      if (buf[i] === CR) {
        if (i + 1 >= buf.length && !final) return -1;
        i += buf[i + 1] === LF ? 2 : 1;
      } else i++;
      if (!(blank && fields.length === 1)) out.push({ fields, line });
      this.line = line + 1;
      return i;
    }
  }
}
