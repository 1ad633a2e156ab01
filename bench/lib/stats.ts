/** Small statistics helpers of the benchmarks (no dependencies, no I/O). */

/** The median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The p-th percentile (0..100), nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** The most values in any half-open interval [t, t + spanMs). */
export function maxInAnyWindow(times: readonly number[], spanMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i += 1) {
    while (j < sorted.length && (sorted[j] as number) < (sorted[i] as number) + spanMs) j += 1;
    best = Math.max(best, j - i);
  }
  return best;
}

/** Events per second between the first and the last of `times` (ms). */
export function rateBetween(times: readonly number[]): number {
  if (times.length < 2) return 0;
  const sorted = [...times].sort((a, b) => a - b);
  const span = (sorted[sorted.length - 1] as number) - (sorted[0] as number);
  return span > 0 ? ((sorted.length - 1) * 1000) / span : Number.POSITIVE_INFINITY;
}

/**
 * How front-loaded a stream is, the way a fixed-window limiter sees it: windows of `windowMs`
 * start at a request and the next one at the first request after it ends; returns the share of
 * all requests that fall in the first `headMs` of their window (a steady stream gives
 * headMs / windowMs, a burst per window gives 1).
 */
export function headShare(times: readonly number[], windowMs = 1000, headMs = 200): number {
  const sorted = [...times].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  let inHead = 0;
  let start = sorted[0] as number;
  for (const t of sorted) {
    if (t >= start + windowMs) start = t;
    if (t < start + headMs) inHead += 1;
  }
  return inHead / sorted.length;
}

/** Rounds for display: 3 significant digits, at most `maxDecimals` decimals. */
export function round(value: number, maxDecimals = 3): number {
  if (!Number.isFinite(value)) return value;
  const digits = Math.max(0, Math.min(maxDecimals, 2 - Math.floor(Math.log10(Math.abs(value) || 1))));
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
