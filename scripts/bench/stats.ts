/**
 * @module bench/stats
 * Statistics the benchmarks share.
 */
/** The median of `xs` (the mean of the middle two when their count is even). */
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
