/** Order statistics for the bench's ratios (run.ts). */

/** The median of ascending `sorted` (the mean of the middle two for an even count; NaN when empty). */
export function medianOf(sorted: readonly number[]): number {
  const n = sorted.length;
  return n % 2 === 1 ? sorted[(n - 1) / 2] ?? Number.NaN : ((sorted[n / 2 - 1] ?? Number.NaN) + (sorted[n / 2] ?? Number.NaN)) / 2;
}

/** The q-quantile of ascending `sorted` (linear interpolation between the closest ranks; NaN when empty). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] ?? Number.NaN;
  return a + (b - a) * (at - lo);
}

/**
 * A distribution-free interval of at least 95 % confidence for the median of the population ascending `sorted`
 * was drawn from (independent draws): the order statistics of ranks j and n + 1 − j, with j the largest rank
 * such that P(Binomial(n, ½) < j) ≤ 2.5 %. Undefined below 6 values, where even [min, max] is not 95 %.
 */
export function medianInterval(sorted: readonly number[]): [number, number] | undefined {
  const n = sorted.length;
  let atMost = 0; // P(X <= k - 1)
  let pk = 2 ** -n; // P(X = k), k = 0
  let j = 0;
  for (let k = 0; k < n; k += 1) {
    if (atMost + pk > 0.025) break;
    atMost += pk;
    j = k + 1; // P(X < j) = P(X <= k) <= 2.5 %
    pk = (pk * (n - k)) / (k + 1);
  }
  const lo = sorted[j - 1];
  const hi = sorted[n - j];
  return j < 1 || lo === undefined || hi === undefined ? undefined : [lo, hi];
}
