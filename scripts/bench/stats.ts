/**
 * @module bench/stats
 * Statistics and helpers the benchmarks share.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
/** The median of `xs` (the mean of the middle two when their count is even). */
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Runs a benchmark worker (a script beside this one) in a fresh process, so its timing and
 * peak RSS are its own, and parses the JSON object of its last line.
 */
export async function runWorker<T>(
  script: string,
  args: string[],
  nodeFlags: string[] = [],
): Promise<T> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...nodeFlags, '--import', 'tsx', join(import.meta.dirname, script), ...args],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}
