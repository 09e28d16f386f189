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
 * It is several times faster: it scans bytes into field spans (`CsvRow`), and a reader decodes
 * only the fields it uses, a number straight from its bytes (docs/benchmarks.md, data), where
 * csv-parse walks characters through a general state machine and makes a string per field.
 */
import { StructuralIndex } from './csv-index.js';

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
/** An ASCII byte that is neither white space nor a control: a field ending in one needs no trim. */
const isPlainEnd = (byte: number) => byte > 0x20 && byte < 0x7f;

const EMPTY = Buffer.alloc(0);
/** The lookup memory of `CsvRow.categoryId`: its size (2^INTERN_BITS slots), longest value. */
const INTERN_BITS = 10;
const INTERN_SLOTS = 1 << INTERN_BITS;
const INTERN_MAX_BYTES = 48;
/** 10^0 … 10^22: the powers of ten a double holds exactly (Clinger's fast path). */
const EXACT_POWERS = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * One record as spans of the bytes it was scanned from, so a reader decodes only the fields it
 * uses, and a number without a string. Valid only during the callback that receives it (the
 * scanner reuses it for the next record).
 */
export class CsvRow {
  buf: Buffer = EMPTY;
  /** How many fields the record has. */
  count = 0;
  /** The line the record ends on (1-based). */
  line = 0;
  /** The record's bytes in `buf`: from `start` to `end`, its line break excluded. */
  start = 0;
  end = 0;
  /**
   * Each unquoted field's bytes, leading white space trimmed (the end is trimmed on decode); a
   * quoted field's start is -1 and its value in `quoted`.
   */
  starts = new Int32Array(16);
  ends = new Int32Array(16);
  /** A quoted field's value (quotes removed, doubled quotes undone), where its start is -1. */
  readonly quoted: string[] = [];
  /**
   * Short values looked up, by a hash of their bytes (a category repeats, so it is decoded and
   * looked up once): each slot's bytes in one slab, its length (-1: empty), the vocabulary it
   * was looked up in and the id found.
   */
  private readonly internBytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX_BYTES);
  private readonly internLength = new Int32Array(INTERN_SLOTS).fill(-1);
  private readonly internIds = new Int32Array(INTERN_SLOTS);
  private readonly internVocabulary: (ReadonlyMap<string, number> | null)[] = new Array<ReadonlyMap<
    string,
    number
  > | null>(INTERN_SLOTS).fill(null);

  /** Field i's text, trimmed as csv-parse trims; undefined past the record's end. */
  text(i: number): string | undefined {
    if (i >= this.count) return undefined;
    const s = this.starts[i];
    if (s < 0) return this.quoted[i];
    const e = this.ends[i];
    if (e === s) return '';
    const value = this.buf.toString('utf8', s, e);
    // csv-parse trims the end as String.trimEnd does (any Unicode white space).
    return isPlainEnd(this.buf[e - 1]) ? value : value.trimEnd();
  }

  /**
   * The id `vocabulary` gives field i's text (trimmed), or -1 when it has none: a short field's
   * answer is remembered by its bytes, so a category's repeats are neither decoded nor hashed
   * as strings.
   */
  categoryId(i: number, vocabulary: ReadonlyMap<string, number>): number {
    const s = this.starts[i];
    const length = this.ends[i] - s;
    if (i >= this.count || s < 0 || length > INTERN_MAX_BYTES || length === 0)
      return vocabulary.get((this.text(i) ?? '').trim()) ?? -1;
    const buf = this.buf;
    // The length and three bytes pick the slot; the bytes are compared in full.
    const h = Math.imul(
      length ^ (buf[s] << 8) ^ (buf[s + length - 1] << 16) ^ (buf[s + (length >> 1)] << 24),
      0x9e3779b1,
    );
    const slot = h >>> (32 - INTERN_BITS);
    const at = slot * INTERN_MAX_BYTES;
    const slab = this.internBytes;
    if (this.internLength[slot] === length && this.internVocabulary[slot] === vocabulary) {
      let p = 0;
      while (p < length && slab[at + p] === buf[s + p]) p++;
      if (p === length) return this.internIds[slot];
    }
    const id = vocabulary.get(this.text(i)!.trim()) ?? -1;
    for (let p = 0; p < length; p++) slab[at + p] = buf[s + p];
    this.internLength[slot] = length;
    this.internVocabulary[slot] = vocabulary;
    this.internIds[slot] = id;
    return id;
  }

  /** Whether field i is absent or white space only (an empty cell: missing). */
  blank(i: number): boolean {
    if (i >= this.count) return true;
    if (this.starts[i] < 0 || !isPlainEnd(this.buf[this.ends[i] - 1]))
      return (this.text(i) ?? '').trim() === '';
    return this.ends[i] === this.starts[i];
  }

  /**
   * Writes field i as a number to out[at] and returns true when it is a plain decimal (`-12.5`,
   * `3e-4`), equal to `Number` of its text: read from the bytes when its digits make an integer
   * below 2^53 and its power of ten is exact, else from its text. False for anything else
   * (empty, quoted, hex, `Infinity`, junk): the caller then parses the text. (Written, not
   * returned: a double returned from a call that is not inlined is allocated.)
   */
  numberInto(i: number, out: Float64Array, at: number): boolean {
    if (i >= this.count || this.starts[i] < 0) return false;
    const buf = this.buf;
    let p = this.starts[i];
    const e = this.ends[i];
    let negative = false;
    if (p < e && (buf[p] === 0x2d || buf[p] === 0x2b)) negative = buf[p++] === 0x2d;
    const digitsFrom = p;
    let mantissa = 0;
    for (; p < e; p++) {
      const d = buf[p] - 0x30;
      if (d >>> 0 > 9) break;
      mantissa = mantissa * 10 + d;
    }
    let digits = p - digitsFrom;
    let scale = 0;
    if (p < e && buf[p] === 0x2e) {
      const fractionFrom = ++p;
      for (; p < e; p++) {
        const d = buf[p] - 0x30;
        if (d >>> 0 > 9) break;
        mantissa = mantissa * 10 + d;
      }
      scale = fractionFrom - p;
      digits -= scale;
    }
    if (digits === 0) return false;
    if (p < e && (buf[p] === 0x65 || buf[p] === 0x45)) {
      p++;
      let expNegative = false;
      if (p < e && (buf[p] === 0x2d || buf[p] === 0x2b)) expNegative = buf[p++] === 0x2d;
      const expFrom = p;
      let exponent = 0;
      for (; p < e && p - expFrom < 4; p++) {
        const d = buf[p] - 0x30;
        if (d >>> 0 > 9) break;
        exponent = exponent * 10 + d;
      }
      if (p === expFrom) return false;
      scale += expNegative ? -exponent : exponent;
    }
    if (p !== e) return false; // trailing white space or junk: the text decides
    // Below 2^53 every step was exact (rounding is monotone: a computed mantissa under 2^53
    // means the true one is); above, the digits (all ASCII) are read as text.
    if (mantissa > Number.MAX_SAFE_INTEGER) {
      const value = Number(buf.toString('latin1', this.starts[i], e));
      out[at] = value;
      return Number.isFinite(value);
    }
    let value: number;
    if (mantissa === 0) value = 0;
    else if (scale >= 0 && scale <= 22) value = mantissa * EXACT_POWERS[scale];
    else if (scale < 0 && scale >= -22) value = mantissa / EXACT_POWERS[-scale];
    else return false;
    out[at] = negative ? -value : value;
    return true;
  }

  /** The record's fields as strings. */
  fields(): string[] {
    const out = new Array<string>(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.text(i)!;
    return out;
  }

  /**
   * A 32-bit hash (FNV-1a) of the record's values as `text` decodes them, each followed by a
   * separator: how a value is quoted, or white-spaced, does not change it. Plain fields are
   * hashed from their bytes; only a quoted one, or one ending in white space or non-ASCII, is
   * encoded first.
   */
  valuesHash(): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < this.count; i++) {
      let bytes: Uint8Array = this.buf;
      let from = this.starts[i];
      let to = this.ends[i];
      if (from < 0 || (to > from && !isPlainEnd(this.buf[to - 1]))) {
        bytes = Buffer.from(this.text(i)!);
        from = 0;
        to = bytes.length;
      }
      for (let j = from; j < to; j++) h = Math.imul(h ^ bytes[j], 0x01000193);
      h = Math.imul(h ^ 0x1f, 0x01000193);
    }
    return h >>> 0;
  }
}

/** A value as one CSV field: quoted (quotes doubled) when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Scans a byte stream, calling `onRow` with each record (the same CsvRow, refilled). A record
 * cut by a chunk's end is completed by the next.
 */
export async function scanCsv(
  input: AsyncIterable<Buffer | string>,
  onRow: (row: CsvRow) => void,
): Promise<void> {
  const scanner = new CsvScanner(onRow);
  for await (const chunk of input)
    scanner.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, false);
  scanner.push(EMPTY, true);
}

/**
 * A scanner fed chunk by chunk, for a caller that yields between chunks: `push` calls onRow
 * with each record completed (the same CsvRow, refilled), `end` with the last.
 */
export function csvScanner(onRow: (row: CsvRow) => void): {
  push(chunk: Buffer): void;
  end(): void;
} {
  const scanner = new CsvScanner(onRow);
  return { push: (chunk) => scanner.push(chunk, false), end: () => scanner.push(EMPTY, true) };
}

/**
 * The records of a byte stream as strings, in batches (one per chunk read: a generator step per
 * record would cost more than the scan).
 */
export async function* csvBatches(
  input: AsyncIterable<Buffer | string>,
): AsyncGenerator<CsvRecord[]> {
  let batch: CsvRecord[] = [];
  const scanner = new CsvScanner((row) => batch.push({ fields: row.fields(), line: row.line }));
  for await (const chunk of input) {
    scanner.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, false);
    if (batch.length) {
      yield batch;
      batch = [];
    }
  }
  scanner.push(EMPTY, true);
  if (batch.length) yield batch;
}

/**
 * The longest record read (an unclosed quote would otherwise hold the rest of the file): past
 * it, the file is refused naming the line the record starts on.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** How much of a chunk is joined to the record carried into it, to complete that record. */
const CARRY_HEAD_BYTES = 4096;

class CsvScanner {
  /** The start of an incomplete record, and the chunks that came after it, not yet scanned. */
  private carry: Buffer | null = null;
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  /** The line the carried bytes start on, and the line the record being scanned is at. */
  private line = 1;
  private recordLine = 1;
  private first = true;
  private readonly row = new CsvRow();
  private readonly index = new StructuralIndex();

  constructor(private readonly onRow: (row: CsvRow) => void) {}

  push(chunk: Buffer, final: boolean): void {
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
      return;
    }
    if (
      this.carry &&
      !this.first &&
      this.waiting.length === 0 &&
      this.completeCarried(chunk, final)
    )
      return;
    const buf = this.carry ? Buffer.concat([this.carry, ...this.waiting, chunk]) : chunk;
    this.waiting = [];
    this.waitingBytes = 0;
    this.scan(buf, 0, final);
  }

  /**
   * The carried record completed from the chunk's first bytes, then the chunk scanned where it
   * is, not copied after the carry: false (nothing done) when the record does not end there.
   */
  private completeCarried(chunk: Buffer, final: boolean): boolean {
    const carry = this.carry!;
    const head = Math.max(CARRY_HEAD_BYTES, carry.length);
    if (chunk.length <= head) return false;
    const joined = Buffer.concat([carry, chunk.subarray(0, head)]);
    this.row.buf = joined;
    this.index.reset(joined);
    const pos = this.records(joined, 0, false);
    // Nothing complete in the head (a record longer than it): join the whole chunk. Else the
    // carried record, and any after it in the head, were handed out.
    if (pos === 0) return false;
    this.carry = null;
    this.scan(chunk, pos - carry.length, final);
    return true;
  }

  /** Scans buf's records from `from`, keeping an incomplete rest as the carry. */
  private scan(buf: Buffer, from: number, final: boolean): void {
    if (this.first) {
      // The BOM is looked for in the first 3 bytes, however the stream is cut.
      if (buf.length < 3 && !final) {
        this.carry = buf.length ? Buffer.from(buf) : null;
        return;
      }
      this.first = false;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    }
    this.row.buf = buf;
    this.index.reset(buf);
    const pos = this.records(buf, from, final);
    this.row.buf = EMPTY;
    this.carry = pos < buf.length ? Buffer.from(buf.subarray(pos)) : null;
    if (final && this.carry) throw new Error('unreachable: a final push leaves no bytes');
    if (this.carry && this.carry.length > MAX_RECORD_BYTES) {
      // Past the limit a record is most often an unclosed quote; say so only when it holds one.
      const why = this.carry.includes(QUOTE) ? ' (an unclosed quote?)' : '';
      throw new CsvSyntaxError(
        `a record longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB starts at line ${this.line}${why}`,
        this.line,
      );
    }
  }

  /**
   * Scans the records in `buf`, returning where the incomplete rest begins. Nothing but the
   * loop: code before or after a hot loop has no type feedback when the loop is compiled on
   * stack (V8 keeps feedback only once a function has run a while), and deoptimized the
   * function at the next chunk.
   */
  private records(buf: Buffer, from: number, final: boolean): number {
    let pos = from;
    while (pos < buf.length) {
      const end = this.record(buf, pos, final);
      if (end < 0) return pos; // incomplete: wait for more bytes
      pos = end;
    }
    return pos;
  }

  /** Twice the room for fields in the row's spans. */
  private grow(): void {
    const row = this.row;
    const starts = new Int32Array(row.starts.length * 2);
    const ends = new Int32Array(row.ends.length * 2);
    starts.set(row.starts);
    ends.set(row.ends);
    row.starts = starts;
    row.ends = ends;
  }

  /**
   * Scans one record from `pos`; hands it to onRow (unless blank) and returns where the next
   * begins, or -1 when the record is not complete in `buf` and more bytes may come.
   */
  private record(buf: Buffer, pos: number, final: boolean): number {
    const row = this.row;
    const len = buf.length;
    let { starts, ends } = row;
    let n = 0;
    let i = pos;
    let blank = true;
    this.recordLine = this.line;
    row.start = pos;
    for (;;) {
      if (n >= starts.length) {
        this.grow();
        ({ starts, ends } = row);
      }
      // Leading spaces, tabs and form feeds are trimmed.
      let c = i < len ? buf[i] : -1;
      while (c === 0x20 || c === 0x09 || c === 0x0c) c = ++i < len ? buf[i] : -1;
      if (c === QUOTE) {
        i = this.quotedField(buf, i, final, n);
        if (i < 0) return -1;
        blank = false;
      } else {
        const start = i;
        // The field ends at the next comma, LF or CR; a quote before it is an error.
        i = this.index.next(i);
        if (i < len && buf[i] === QUOTE) this.openingQuote(buf, start, i, n);
        if (i >= len && !final) return -1;
        if (i > start) blank = false;
        starts[n] = start;
        ends[n] = i;
      }
      n++;
      if (i >= len) {
        // The last record of the stream, without a line break.
        row.end = i;
        this.emit(n, blank);
        this.line = this.recordLine;
        return i;
      }
      if (buf[i] === COMMA) {
        blank = false;
        i++;
        continue;
      }
      // A record delimiter: LF, CRLF or CR (a CR at a chunk's end may be half of a CRLF).
      row.end = i;
      if (buf[i] === CR) {
        if (i + 1 >= len && !final) return -1;
        i += buf[i + 1] === LF ? 2 : 1;
      } else i++;
      this.emit(n, blank);
      this.line = this.recordLine + 1;
      return i;
    }
  }

  /**
   * A quoted field from its opening quote at `i`, as field n: up to the quote not followed by
   * another, then white space to a delimiter. Returns where it ends, or -1 when incomplete.
   */
  private quotedField(buf: Buffer, i: number, final: boolean, n: number): number {
    let start = i + 1;
    let j = start;
    let value = '';
    let line = this.recordLine;
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
    let end = j + 1;
    while (end < buf.length && isTrimmed(buf[end])) end++;
    if (end < buf.length && buf[end] !== COMMA && buf[end] !== LF && buf[end] !== CR)
      throw new CsvSyntaxError(
        `Invalid Closing Quote: got "${String.fromCharCode(buf[end])}" at line ${line} instead of delimiter or record delimiter`,
        line,
      );
    if (end >= buf.length && !final) return -1;
    this.recordLine = line;
    this.row.starts[n] = -1;
    this.row.quoted[n] = value;
    return end;
  }

  private openingQuote(buf: Buffer, start: number, at: number, n: number): never {
    throw new CsvSyntaxError(
      `Invalid Opening Quote: a quote is found on field ${n} at line ${this.recordLine}, value is "${buf.toString('utf8', start, at).trim()}"`,
      this.recordLine,
    );
  }

  private emit(count: number, blank: boolean): void {
    if (blank && count === 1) return; // an empty or white-space line is no record
    this.row.count = count;
    this.row.line = this.recordLine;
    this.onRow(this.row);
  }
}
