/**
 * @module analysis
 * A study's result: its trials ranked by objective, as report.json and the report.txt people read.
 */
import type { Goal, Trial } from '@bucketml/contracts';

export interface StudyReport {
  goal: Goal;
  metricTag: string;
  /** All trials: succeeded ones best first, then stopped, then failed. */
  trials: (Trial & { rank?: number; durationSeconds?: number })[];
  best: (Trial & { objective: number }) | null;
  succeeded: number;
  failed: number;
  stopped: number;
}

/** The table the course reads in the console: trials sorted by objective, with parameters and state. */
export function analyzeTrials(trials: Trial[], goal: Goal, metricTag: string): StudyReport {
  const order = { SUCCEEDED: 0, STOPPED: 1, ACTIVE: 2, FAILED: 3 } as const;
  const sign = goal === 'MINIMIZE' ? 1 : -1;
  const sorted = [...trials].sort((a, b) => {
    if (a.state !== b.state) return order[a.state] - order[b.state];
    if (a.objective !== undefined && b.objective !== undefined && a.objective !== b.objective)
      return sign * (a.objective - b.objective);
    return Number(a.id) - Number(b.id);
  });
  let rank = 0;
  const withRank = sorted.map((t) => ({
    ...t,
    ...(t.state === 'SUCCEEDED' ? { rank: ++rank } : {}),
    ...(t.startTime && t.endTime
      ? { durationSeconds: (Date.parse(t.endTime) - Date.parse(t.startTime)) / 1000 }
      : {}),
  }));
  const best = sorted.find((t) => t.state === 'SUCCEEDED' && t.objective !== undefined) as
    StudyReport['best'] | undefined;
  return {
    goal,
    metricTag,
    trials: withRank,
    best: best ?? null,
    succeeded: trials.filter((t) => t.state === 'SUCCEEDED').length,
    failed: trials.filter((t) => t.state === 'FAILED').length,
    stopped: trials.filter((t) => t.state === 'STOPPED').length,
  };
}

/** A fixed-width text table of the report, for people (saved next to the JSON). */
export function formatReport(report: StudyReport): string {
  const paramNames = [...new Set(report.trials.flatMap((t) => Object.keys(t.parameters)))];
  const header = ['rank', 'trial', 'state', report.metricTag, ...paramNames, 'seconds'];
  const rows = report.trials.map((t) => [
    t.rank ? String(t.rank) : '-',
    t.id,
    t.state,
    t.objective !== undefined ? t.objective.toFixed(5) : '-',
    ...paramNames.map((n) => (t.parameters[n] === undefined ? '-' : String(t.parameters[n]))),
    t.durationSeconds !== undefined ? t.durationSeconds.toFixed(1) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const best = report.best
    ? `best: trial ${report.best.id}, ${report.metricTag} ${report.best.objective.toFixed(5)}, ${JSON.stringify(report.best.parameters)}`
    : 'best: none (no trial succeeded)';
  return [
    `goal ${report.goal} ${report.metricTag}; ${report.succeeded} succeeded, ${report.stopped} stopped, ${report.failed} failed`,
    best,
    '',
    line(header),
    ...rows.map(line),
    '',
  ].join('\n');
}
