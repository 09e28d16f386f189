/**
 * @module text-table
 * What the showing verbs print: fixed-width tables (columns two spaces apart, so a cell's own
 * single spaces never split it) and sparklines of learning curves, with the same number
 * formats as the run page (`fmt`, `seconds` in the page's script).
 */

/** An objective or metric value, as the run page shows it. */
export const fmt = (x: number | undefined): string =>
  typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : '–';

/** A duration, as the run page shows it. */
export const seconds = (x: number | undefined): string =>
  typeof x === 'number' && Number.isFinite(x) ? `${x.toFixed(1)} s` : '–';

/** Rows of cells as a table with a header, each column as wide as its widest cell. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const BARS = '▁▂▃▄▅▆▇█';

/** A curve as a sparkline, low values low, on the range [lo, hi] (shared by the curves compared). */
export function sparkline(values: number[], lo: number, hi: number): string {
  if (values.length === 0) return '–';
  const span = hi - lo;
  return values
    .map((v) => BARS[span > 0 ? Math.round(((v - lo) / span) * (BARS.length - 1)) : 0])
    .join('');
}
