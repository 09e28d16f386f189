import type { Goal } from './study-spec.js';

/**
 * The median stopping rule (Vizier's, which Vertex's medianAutomatedStoppingSpec names): stop a
 * trial at its k-th intermediate measurement when its best value so far is worse than the
 * median of the completed trials' running averages over their first k measurements. (Against
 * the peers' best values instead, 15 of 20 babyweight trials stopped and the study's best RMSE
 * worsened 0.68%: too eager while curves still fall.)
 *
 * Measurements are compared by index, not by global step: trials with different batch sizes
 * take different numbers of steps, but each reports at the same fractions of its budget.
 */
export interface StoppingOptions {
  /** Completed trials needed before any trial is stopped (default 4). */
  minCompleted?: number;
  /** Never stop before this many measurements of the trial (default 2). */
  minMeasurements?: number;
}

export function shouldStopTrial(current: number[], completed: number[][], goal: Goal, options: StoppingOptions = {}): boolean {
  const k = current.length;
  if (k < (options.minMeasurements ?? 2)) return false;
  const better = (a: number, b: number) => (goal === 'MINIMIZE' ? a < b : a > b);
  const bestOf = (xs: number[]) => xs.reduce((best, x) => (better(x, best) ? x : best));
  const runningAverage = (m: number[]) => m.slice(0, k).reduce((a, b) => a + b, 0) / k;
  const peers = completed.filter((m) => m.length >= k).map(runningAverage);
  if (peers.length < (options.minCompleted ?? 4)) return false;
  peers.sort((a, b) => a - b);
  const mid = peers.length / 2;
  const median = peers.length % 2 ? peers[Math.floor(mid)] : (peers[mid - 1] + peers[mid]) / 2;
  return better(median, bestOf(current));
}
