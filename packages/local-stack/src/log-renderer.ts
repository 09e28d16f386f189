/**
 * @module log-renderer
 * How `npm start` shows the stack's structured log events to a person at a terminal.
 */
import type { LogLine } from './stack.js';

const COLORS: Record<string, string> = {
  DEBUG: '2',
  INFO: '36',
  NOTICE: '32;1',
  WARNING: '33',
  ERROR: '31;1',
};

/**
 * Renders structured log events for a person at a terminal:
 *   02:31:07 INFO    job-completed  babyweight-3f2a…  trial 4 succeeded: objective 1.0612
 * Lines that are not events (the framework's own output) are shown dimmed.
 */
export function renderLogLine(
  line: LogLine,
  options: { color: boolean; verbose: boolean },
): string | null {
  const paint = (code: string, s: string) => (options.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const e = line.event;
  if (!e || typeof e.message !== 'string') {
    return options.verbose && line.raw.trim()
      ? paint('2', `         ${line.source.padEnd(16)} ${line.raw}`)
      : null;
  }
  const severity = String(e.severity ?? 'INFO');
  if (severity === 'DEBUG' && !options.verbose) return null;
  const time = typeof e.time === 'string' ? e.time.slice(11, 19) : '        ';
  const run = typeof e.runId === 'string' ? `${e.runId} ` : '';
  return `${paint('2', time)} ${paint(COLORS[severity] ?? '0', severity.padEnd(7))} ${String(e.component ?? line.source).padEnd(16)} ${paint('2', run)}${e.message}`;
}
