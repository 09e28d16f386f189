/**
 * @module dataset
 * CSV training and eval data read into encoded rows. Bad rows are counted, sampled with file and
 * line for the person who dropped them, and fail the read above a limit; each file's size and
 * checksum are kept for the model's lineage.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { scanCsv, type CsvRow } from './csv.js';
import type { EncodedRows, FeatureEncoder, RowCells } from './features.js';
import { rawColumns, type ModelSpec } from './spec.js';

/** A CSV to read: a local file now, a bucket object through the storage port later. */
export interface DataSource {
  /** Shown in errors and recorded in lineage (a path or an object URI). */
  name: string;
  open(): Readable | Promise<Readable>;
  /** What changes when the bytes may have (a file's size and times); absent: unknown. */
  version?(): Promise<string | null>;
}

/**
 * A read's chunk: 1 MiB, not the stream default of 64 KiB, whose per-chunk cost made reading a
 * 60 MB file take 0.2 s where 1 MiB chunks take 0.02 s (docs/benchmarks.md, data).
 */
const READ_CHUNK_BYTES = 1 << 20;

export function fileSource(path: string): DataSource {
  return {
    name: path,
    async version() {
      const info = await stat(path).catch(() => null);
      return info ? `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}` : null;
    },
    async open() {
      const info = await stat(path).catch(() => null);
      if (!info) throw new DataError(`${path}: file not found`, path);
      if (!info.isFile()) throw new DataError(`${path}: not a file`, path);
      return createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
    },
  };
}

/** What lineage records of each input: enough to tell whether a model was trained on this data. */
export interface DataFileInfo {
  name: string;
  bytes: number;
  sha256: string;
  rows: number;
  badRows: number;
}

export interface BadRow {
  file: string;
  line: number;
  reason: string;
}

/** What a pass over the data tells without keeping its rows (data validation's). */
export interface DatasetSummary {
  /** Rows accepted. */
  size: number;
  files: DataFileInfo[];
  /** The first file's header row as read (trimmed), or null when the spec has no header. */
  header: string[] | null;
  /** Rows read, valid or not (header rows excluded). */
  rowsRead: number;
  /**
   * Rows whose label cell is empty: nothing to learn from or to measure, so skipped and counted
   * apart (as inference reports them), not invalid.
   */
  unlabelledRows: number;
  badRows: number;
  /** The first bad rows with their line numbers, for reports. */
  badRowSamples: BadRow[];
  /** Bad rows counted per kind of reason (values left out), for the run's events. */
  badRowReasons: Record<string, number>;
}

/** The rows read and encoded for training or evaluation. */
export interface Dataset extends EncodedRows, DatasetSummary {
  labels: Float32Array;
  /** Each row's key (the spec's key column), when ReadOptions.keepKeys asked for them. */
  keys?: string[];
}

/** Bad input data: names the file (and line) so the person who dropped it can fix it. */
export class DataError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'DataError';
  }
}

export interface ReadOptions {
  /** Stop with an error when more than this fraction of rows is bad (default 0.05). */
  maxBadFraction?: number;
  /** How many bad rows to keep as examples (default 20). */
  sampleBadRows?: number;
  /** Called with every accepted row's raw cells by column name (for statistics). */
  onRecord?: (cell: (column: string) => string | undefined) => void;
  /** Called with every bad row and its raw fields (to keep them, e.g. rejected-rows.csv). */
  onBadRow?: (row: BadRow, fields: string[]) => void;
  onProgress?: (rowsRead: number) => void;
  /** Keep each row's key (training does not need them: a key string costs more than a row). */
  keepKeys?: boolean;
  /** Rows left out before they are read or counted (e.g. those a model trained on). */
  skipRow?: (row: CsvRow) => boolean;
}

const BAD_ROW_SAMPLES = 20;
/**
 * Progress every 10,000 rows, the first at row 100: taken first once V8 has optimized the read,
 * the report's branch would deoptimize it.
 */
const PROGRESS_ROWS = 10_000;
const FIRST_PROGRESS = 100;

/** Reads and encodes the rows, held in typed arrays. */
export async function readDataset(
  sources: DataSource[],
  encoder: FeatureEncoder,
  options: ReadOptions = {},
): Promise<Dataset> {
  const { layout } = encoder;
  const rows = new GrowableRows(
    layout.dense.length,
    layout.wide.length,
    layout.embed.length,
    options.keepKeys === true && encoder.spec.key !== undefined,
  );
  const summary = await passOver(sources, encoder, rows, options);
  return { ...rows.finish(), ...summary };
}

/**
 * The same checks as readDataset, each row encoded and dropped: memory stays flat whatever the
 * row count (data-upload validates a drop so; the trials read it again).
 */
export async function scanDataset(
  sources: DataSource[],
  encoder: FeatureEncoder,
  options: ReadOptions = {},
): Promise<DatasetSummary> {
  const { layout } = encoder;
  return passOver(
    sources,
    encoder,
    new ScratchRow(layout.dense.length, layout.wide.length, layout.embed.length),
    options,
  );
}

async function passOver(
  sources: DataSource[],
  encoder: FeatureEncoder,
  rows: RowSink,
  options: ReadOptions,
): Promise<DatasetSummary> {
  if (sources.length === 0) throw new DataError('no data files given');
  const maxBadFraction = options.maxBadFraction ?? 0.05;
  const { skipRow } = options;
  const sampleLimit = options.sampleBadRows ?? BAD_ROW_SAMPLES;
  const ds = {
    header: null as string[] | null,
    files: [] as DataFileInfo[],
    rowsRead: 0,
    unlabelledRows: 0,
    badRows: 0,
    badRowSamples: [] as BadRow[],
    badRowReasons: {} as Record<string, number>,
  };

  for (const source of sources) {
    const info: DataFileInfo = { name: source.name, bytes: 0, sha256: '', rows: 0, badRows: 0 };
    const hash = createHash('sha256');
    const input = await source.open();
    // Every byte read is hashed and counted, the records scanned from the same chunks.
    async function* hashed(): AsyncGenerator<Buffer> {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        hash.update(chunk);
        info.bytes += chunk.length;
        yield chunk;
      }
    }

    let columnIndex: Map<string, number> | null = null;
    let skipped = 0;
    let cells: CsvCells | null = null;
    const byHeader = encoder.spec.header === true;
    const expected = encoder.spec.columns.length;
    const onRow = (row: CsvRow) => {
      if (!cells) {
        const record = row.fields();
        columnIndex = headerOrPositions(record, encoder.spec, source.name);
        if (columnIndex.size === 0) {
          // A recognised header row: map by name from now on (a headerless spec's names match
          // in any case, so they map to the spec's spelling).
          const spelling = new Map(encoder.spec.columns.map((c) => [c.toLowerCase(), c]));
          const named = (name: string) =>
            byHeader ? name.trim() : (spelling.get(name.trim().toLowerCase()) ?? name);
          columnIndex = new Map(record.map((name, i) => [named(name), i]));
          ds.header ??= record.map((name) => name.trim());
          cells = new CsvCells(encoder.inputs, columnIndex);
          return;
        }
        checkFirstDataRow(record.length, encoder.spec, source.name, row.line);
        cells = new CsvCells(encoder.inputs, columnIndex);
      }
      if (skipRow?.(row)) return void skipped++;
      info.rows++;
      ds.rowsRead++;
      cells.row = row;
      if (cells.present(encoder.labelInput) && cells.missing(encoder.labelInput)) {
        ds.unlabelledRows++;
        return;
      }
      const reason = readRow(row, cells, encoder, rows, byHeader ? -1 : expected);
      if (reason === null && options.onRecord) {
        const index = columnIndex!;
        options.onRecord((column) => {
          const i = index.get(column);
          return i === undefined ? undefined : row.text(i);
        });
      }
      if (reason !== null) {
        info.badRows++;
        ds.badRows++;
        const kind = reasonKind(reason);
        if (kind in ds.badRowReasons || Object.keys(ds.badRowReasons).length < MAX_REASON_KINDS)
          ds.badRowReasons[kind] = (ds.badRowReasons[kind] ?? 0) + 1;
        const bad = { file: source.name, line: row.line, reason: bounded(reason) };
        if (ds.badRowSamples.length < sampleLimit) ds.badRowSamples.push(bad);
        options.onBadRow?.(bad, row.fields());
      }
      if (options.onProgress && ds.rowsRead % PROGRESS_ROWS === FIRST_PROGRESS)
        options.onProgress(ds.rowsRead);
    };
    try {
      await scanCsv(hashed(), onRow);
    } catch (err) {
      throw csvError(err, source);
    }
    if (info.bytes === 0) throw new DataError(`${source.name}: file is empty`, source.name);
    if (info.rows === 0 && skipped === 0)
      throw new DataError(`${source.name}: no data rows (only a header)`, source.name);
    info.sha256 = hash.digest('hex');
    ds.files.push(info);
  }

  const labelled = ds.rowsRead - ds.unlabelledRows;
  if (ds.badRows > maxBadFraction * labelled) {
    const pct = ((100 * ds.badRows) / labelled).toFixed(1);
    const examples = ds.badRowSamples
      .slice(0, 5)
      .map((b) => `\n  ${b.file}:${b.line}: ${b.reason}`)
      .join('');
    const first = ds.badRowSamples[0];
    throw new DataError(
      `${ds.badRows} of ${labelled}${ds.unlabelledRows ? ' labelled' : ''} rows (${pct}%) are invalid, above the ${(maxBadFraction * 100).toFixed(1)}% limit; first ones:${examples}`,
      first?.file,
      first?.line,
    );
  }
  if (rows.size === 0)
    throw new DataError(
      ds.unlabelledRows === ds.rowsRead
        ? `no row has a value in the label column ${encoder.spec.label.name}`
        : 'no valid rows in the data',
      sources[0].name,
    );
  return { size: rows.size, ...ds };
}

/** A CSV reader's failure as the DataError a user reads (file, line, a bounded reason). */
export function csvError(err: unknown, source: Pick<DataSource, 'name'>): DataError {
  if (err instanceof DataError) return err;
  const e = err as { message?: string; lines?: number; code?: string };
  if (e.code === 'ENOENT') return new DataError(`${source.name}: file not found`, source.name);
  return new DataError(
    `${source.name}: cannot parse CSV${e.lines ? ` at line ${e.lines}` : ''}: ${bounded(String(e.message ?? ''))}`,
    source.name,
    e.lines,
  );
}

/** The first row of a CSV (its header, when it has one); null when it cannot be read. */
export async function readCsvHeader(source: DataSource): Promise<string[] | null> {
  let first: string[] | null = null;
  let input: Readable | undefined;
  try {
    input = await source.open();
    // Only the first record becomes strings: the scan stops there (a throw out of the scan).
    await scanCsv(input as AsyncIterable<Buffer>, (row) => {
      first = row.fields();
      throw HEADER_READ;
    });
  } catch (err) {
    if (err !== HEADER_READ) return null; // unreadable: no header to show
  } finally {
    input?.destroy();
  }
  return first;
}

/** Thrown by readCsvHeader's scan once it has the first record. */
const HEADER_READ = Symbol('header read');

const MAX_REASON_KINDS = 50;
const MAX_REASON_CHARS = 300;

/** A reason cut to a size fit for logs and events (a CSV field can be megabytes). */
function bounded(text: string): string {
  return text.length <= MAX_REASON_CHARS
    ? text
    : `${text.slice(0, MAX_REASON_CHARS)}… (${text.length - MAX_REASON_CHARS} more characters)`;
}

/** A reason without its values: "mother_age: 7 is below the minimum 10" → "mother_age: is below the minimum". */
export function reasonKind(reason: string): string {
  return bounded(reason)
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi, '')
    .replace(/\s+/g, ' ')
    .replace(/ ,/g, ',')
    .trim();
}

/**
 * Whether a file's first record is a header row: always with `header: true`; for headerless
 * specs, a row of the spec's column names (in order, in another order, or with some left out),
 * so a CSV exported with a header still works.
 */
export function isHeaderRow(first: string[], spec: Pick<ModelSpec, 'header' | 'columns'>): boolean {
  if (spec.header) return true;
  const lower = new Set(spec.columns.map((c) => c.toLowerCase()));
  const names = first.map((f) => f.trim().toLowerCase());
  return (
    (names.length === spec.columns.length &&
      names.every((n, i) => n === spec.columns[i].toLowerCase())) ||
    (names.length >= 2 && names.every((n) => lower.has(n)))
  );
}

/**
 * A headerless file's first data row has the spec's columns, or the file is refused: a mismatch
 * there is the file's layout (another delimiter, another spec), not one bad row; later rows
 * that mismatch are only counted bad.
 */
export function checkFirstDataRow(
  count: number,
  spec: Pick<ModelSpec, 'header' | 'columns'>,
  file: string,
  line: number,
): void {
  if (spec.header === true || count === spec.columns.length) return;
  throw new DataError(
    `${file}: expected ${spec.columns.length} columns (${spec.columns.join(', ')}), found ${count} on line ${line}`,
    file,
    line,
  );
}

/**
 * Decides how columns are found. Returns an empty map when the first record is a header row
 * (isHeaderRow) and positional indices otherwise. A header that lacks columns is an error
 * naming them (as positions its rows would be misread, or only "expected 6 columns, found 5").
 */
function headerOrPositions(first: string[], spec: ModelSpec, file: string): Map<string, number> {
  if (!isHeaderRow(first, spec)) return new Map(spec.columns.map((c, i) => [c, i]));
  const names = first.map((f) => f.trim());
  const missing = spec.header
    ? rawColumns(spec).filter((c) => !names.includes(c))
    : spec.columns.filter((c) => !names.some((n) => n.toLowerCase() === c.toLowerCase()));
  if (missing.length > 0)
    throw new DataError(`${file}: header lacks column(s) ${missing.join(', ')}`, file, 1);
  return new Map();
}

/** A CSV record's fields as the encoder's inputs (by the file's column positions). */
class CsvCells implements RowCells {
  row!: CsvRow;
  /** Each input's field position in this file, -1 when the file lacks the column. */
  private readonly positions: Int32Array;

  constructor(inputs: string[], columnIndex: Map<string, number>) {
    this.positions = Int32Array.from(inputs, (name) => columnIndex.get(name) ?? -1);
  }

  /** Whether the file has the input's column. */
  present(input: number): boolean {
    return this.positions[input] >= 0;
  }

  value(input: number): string | undefined {
    const at = this.positions[input];
    return at < 0 ? undefined : this.row.text(at);
  }

  categoryId(input: number, vocabulary: ReadonlyMap<string, number>): number {
    const at = this.positions[input];
    return at < 0 ? -1 : this.row.categoryId(at, vocabulary);
  }

  missing(input: number): boolean {
    const at = this.positions[input];
    return at < 0 || this.row.blank(at);
  }

  numberInto(input: number, out: Float64Array, at: number): boolean {
    const field = this.positions[input];
    return field >= 0 && this.row.numberInto(field, out, at);
  }
}

/** Encodes one record into `rows`; null, or why it is invalid. `expected`: -1 when by header. */
function readRow(
  row: CsvRow,
  cells: CsvCells,
  encoder: FeatureEncoder,
  rows: RowSink,
  expected: number,
): string | null {
  if (expected >= 0 && row.count !== expected)
    return `expected ${expected} columns, found ${row.count}`;
  const labelProblem = encoder.readLabel(cells);
  if (labelProblem !== null) return labelProblem;
  const problem = encoder.encodeCells(cells, rows, rows.reserve());
  if (problem !== null) return problem;
  rows.commit(encoder.labelValue[0], rows.keepsKeys ? (cells.value(encoder.keyInput) ?? '') : '');
  return null;
}

/** Where a pass puts encoded rows: `reserve` gives the row index to encode into. */
interface RowSink extends EncodedRows {
  size: number;
  readonly keepsKeys: boolean;
  reserve(): number;
  commit(label: number, key: string): void;
}

/** One row's room, reused: rows are checked and counted, not kept. */
class ScratchRow implements RowSink {
  size = 0;
  readonly keepsKeys = false;
  dense: Float32Array;
  wide: Int32Array;
  embed: Int32Array;

  constructor(nDense: number, nWide: number, nEmbed: number) {
    this.dense = new Float32Array(nDense);
    this.wide = new Int32Array(nWide);
    this.embed = new Int32Array(nEmbed);
  }

  reserve(): number {
    return 0;
  }

  commit(): void {
    this.size++;
  }
}

interface Chunk {
  dense: Float32Array;
  wide: Int32Array;
  embed: Int32Array;
  labels: Float32Array;
}

/**
 * Rows per chunk of GrowableRows (64 KB for babyweight's rows): small enough that a new chunk
 * is made in the first rows, before V8 optimizes the read (a path first taken after that
 * deoptimizes it).
 */
const CHUNK_ROWS = 2048;

/**
 * Rows kept in fixed chunks as they arrive; `finish` copies them once into arrays of the exact
 * size. (Growing one array copies every row several times, and holds old and new at once.)
 */
class GrowableRows implements RowSink {
  size = 0;
  /** The current chunk's arrays: `reserve` returns the row's index in them. */
  dense = new Float32Array(0);
  wide = new Int32Array(0);
  embed = new Int32Array(0);
  labels = new Float32Array(0);
  private readonly chunks: Chunk[] = [];
  private inChunk = CHUNK_ROWS;
  private readonly keys: string[] | undefined;
  readonly keepsKeys: boolean;

  constructor(
    private readonly nDense: number,
    private readonly nWide: number,
    private readonly nEmbed: number,
    keepKeys: boolean,
  ) {
    this.keys = keepKeys ? [] : undefined;
    this.keepsKeys = keepKeys;
  }

  reserve(): number {
    if (this.inChunk < CHUNK_ROWS) return this.inChunk;
    const chunk = {
      dense: new Float32Array(CHUNK_ROWS * this.nDense),
      wide: new Int32Array(CHUNK_ROWS * this.nWide),
      embed: new Int32Array(CHUNK_ROWS * this.nEmbed),
      labels: new Float32Array(CHUNK_ROWS),
    };
    this.chunks.push(chunk);
    ({ dense: this.dense, wide: this.wide, embed: this.embed, labels: this.labels } = chunk);
    this.inChunk = 0;
    return 0;
  }

  commit(label: number, key: string): void {
    this.labels[this.inChunk++] = label;
    this.keys?.push(key);
    this.size++;
  }

  finish(): EncodedRows & { size: number; labels: Float32Array; keys?: string[] } {
    const n = this.size;
    const chunks = this.chunks;
    // One kind at a time, each chunk's part let go once copied: the peak is the rows plus one
    // kind's copy, not twice the rows.
    const joined = <K extends 'dense' | 'wide' | 'embed' | 'labels'>(kind: K, width: number) => {
      const out = new (chunks[0][kind].constructor as new (length: number) => Chunk[K])(n * width);
      chunks.forEach((c, i) => {
        const rows = Math.min(CHUNK_ROWS, n - i * CHUNK_ROWS);
        out.set(c[kind].subarray(0, rows * width), i * CHUNK_ROWS * width);
        c[kind] = out.subarray(0, 0) as Chunk[K];
      });
      return out;
    };
    if (chunks.length === 0) this.reserve();
    const rows = {
      size: n,
      dense: joined('dense', this.nDense),
      wide: joined('wide', this.nWide),
      embed: joined('embed', this.nEmbed),
      labels: joined('labels', 1),
      ...(this.keys ? { keys: this.keys } : {}),
    };
    chunks.length = 0;
    return rows;
  }
}
