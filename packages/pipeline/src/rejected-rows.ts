/**
 * @module rejected-rows
 * The rows of a drop that could not be used, kept for the person who dropped them: one CSV line
 * each with the source object, the line number, the reason and the raw row, bounded (at most
 * MAX_ROWS rows and MAX_BYTES bytes, each field cut to MAX_FIELD characters) and cut with a
 * note past the limit. Written to runs/<runId>/rejected-rows.csv by data-upload, for a run that
 * goes on and for one that fails over the bad-row limit alike.
 */
import type { BadRow } from '@bucketml/model';

const MAX_ROWS = 1000;
const MAX_BYTES = 1_000_000;
const MAX_FIELD = 500;

export class RejectedRows {
  private readonly lines: string[] = ['source,line,reason,row'];
  private bytes = this.lines[0].length + 1;
  /** Rows seen, kept or not. */
  count = 0;

  /** For ReadOptions.onBadRow. */
  readonly add = (bad: BadRow, fields: string[]): void => {
    this.count++;
    if (this.lines.length > MAX_ROWS) return;
    const raw = fields.map((f) => csvField(cut(f))).join(',');
    const line = [
      csvField(bad.file),
      String(bad.line),
      csvField(cut(bad.reason)),
      csvField(raw),
    ].join(',');
    if (this.bytes + line.length + 1 > MAX_BYTES) return;
    this.lines.push(line);
    this.bytes += line.length + 1;
  };

  /** The file's text, with a note when rows were left out. */
  csv(): string {
    const kept = this.lines.length - 1;
    const note =
      kept < this.count
        ? `# cut: ${this.count - kept} more rejected rows are not kept (limits: ${MAX_ROWS} rows, ${MAX_BYTES} bytes)\n`
        : '';
    return this.lines.join('\n') + '\n' + note;
  }
}

const cut = (s: string) => (s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD)}…` : s);

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
