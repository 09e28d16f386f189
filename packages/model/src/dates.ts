/**
 * @module dates
 * Dates and timestamps in CSV cells: ISO 8601 calendar dates (2013-01-31, 2013/01/31) with an
 * optional time (T or space, hh:mm[:ss[.fff]], optional Z or ±hh:mm offset, which is ignored:
 * the wall-clock hour is the feature). Parsed by hand, in UTC, so every machine agrees.
 */
/** The calendar parts of a date, the features a date column expands into. */
export interface DateParts {
  year: number;
  month: number;
  day: number;
  /** 0 = Monday … 6 = Sunday (pandas' dayofweek). */
  dayofweek: number;
  /** 1 … 366. */
  dayofyear: number;
  hour: number;
  hasTime: boolean;
}

const DATE =
  /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseDate(text: string): DateParts | null {
  const m = DATE.exec(text.trim());
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || Number(m[5] ?? 0) > 59)
    return null;
  const t = Date.UTC(year, month - 1, day);
  const d = new Date(t);
  if (d.getUTCDate() !== day) return null; // 2013-02-30
  const dayofyear = Math.round((t - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
  return {
    year,
    month,
    day,
    dayofweek: (d.getUTCDay() + 6) % 7,
    dayofyear,
    hour,
    hasTime: m[4] !== undefined,
  };
}
