/**
 * @module rejected-rows
 * The rows of a drop that could not be used, kept for the person who dropped them: one CSV line
 * each with the source object, the line number, the reason and the raw row, bounded (at most
 * MAX_ROWS rows and MAX_BYTES bytes, each field cut to MAX_FIELD characters) and cut with a
 * note past the limit. Written to runs/<runId>/rejected-rows.csv by data-upload, for a run that
 * goes on and for one that fails over the bad-row limit alike.
 */
import { csvField, type BadRow } from '@bucketml/model';

const MAX_ROWS = 1000;
const MAX_BYTES = 1_000_000;
const MAX_FIELD = 500;

export class RejectedRows {
  private readonly lines: string[] = ['source,line,reason,row'];
  private bytes = Buffer.byteLength(this.lines[0]) + 1;
  /** Rows seen, kept or not. */
  count = 0;

  /** For ReadOptions.onBadRow. */
  readonly add = (bad: BadRow, fields: string[]): void => {
    this.count++;
    if (this.lines.length > MAX_ROWS) return;
    const raw = fields.map((f) => safeField(cut(f))).join(',');
    const line = [
      safeField(bad.file),
      String(bad.line),
      safeField(cut(bad.reason)),
      safeField(raw),
    ].join(',');
    const bytes = Buffer.byteLength(line) + 1;
    if (this.bytes + bytes > MAX_BYTES) return;
    this.lines.push(line);
    this.bytes += bytes;
  };

  /** The file's text, with a note when rows were left out. */
  csv(): string {
    const kept = this.lines.length - 1;
    // The note is a row of the same four columns, so a CSV reader reads it as one.
    const note =
      kept < this.count
        ? `,,${safeField(`cut: ${this.count - kept} more rejected rows are not kept (limits: ${MAX_ROWS} rows, ${MAX_BYTES} bytes)`)},\n`
        : '';
    return this.lines.join('\n') + '\n' + note;
  }
}

/** Cut by code point (a surrogate pair stays whole). */
const cut = (s: string) => {
  const points = [...s.slice(0, MAX_FIELD + 1)];
  return points.length > MAX_FIELD ? `${points.slice(0, MAX_FIELD).join('')}…` : s;
};

function safeField(s: string): string {
  // A leading = or @ (or + - not starting a number) would be a formula to a spreadsheet.
  return csvField(/^(?:[=@]|[+-](?![\d.]))/.test(s) ? `'${s}` : s);
}
