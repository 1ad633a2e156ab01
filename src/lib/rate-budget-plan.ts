import type { RateWindow } from './config.ts';

/** What the Lua scripts need from an account's windows and reserve, computed once. */
export interface RateBudgetPlan {
  /** Windows sorted shortest first; two windows of one length are merged (the smaller limit). */
  windows: readonly RateWindow[];
  /** Spacing between consecutive grants at pace 1: shortest window / its limit, in ms. */
  baseIntervalMs: number;
  /** Bulk grants allowed in the shortest window while real-time work waits. */
  bulkShare: number;
  /** The longest window, in ms: how long grant history must be kept. */
  longestWindowMs: number;
}

/** Highest real-time reserve: bulk always keeps at least 5 % of the shortest window. */
export const MAX_REALTIME_RESERVE = 0.95;

/**
 * Validates windows and reserve and derives the spacing and the bulk share.
 * Throws a RangeError that says what is wrong.
 */
export function planRateBudget(windows: readonly RateWindow[], realtimeReserve: number): RateBudgetPlan {
  if (windows.length === 0) throw new RangeError('a rate budget needs at least one window');
  for (const w of windows) {
    if (!Number.isInteger(w.limit) || w.limit < 1) {
      throw new RangeError(`window limit must be a whole number >= 1, got ${w.limit}`);
    }
    if (!Number.isInteger(w.windowMs) || w.windowMs < 1) {
      throw new RangeError(`window length must be a whole number of ms >= 1, got ${w.windowMs}`);
    }
  }
  if (!Number.isFinite(realtimeReserve) || realtimeReserve < 0 || realtimeReserve > MAX_REALTIME_RESERVE) {
    throw new RangeError(`realtimeReserve must be within 0..${MAX_REALTIME_RESERVE}, got ${realtimeReserve}`);
  }
  const byLength = new Map<number, number>();
  for (const w of windows) byLength.set(w.windowMs, Math.min(w.limit, byLength.get(w.windowMs) ?? Infinity));
  const sorted = [...byLength.entries()]
    .sort(([a], [b]) => a - b)
    .map(([windowMs, limit]) => ({ limit, windowMs }));
  const shortest = sorted[0] as RateWindow;
  const longest = sorted[sorted.length - 1] as RateWindow;
  return {
    windows: sorted,
    baseIntervalMs: shortest.windowMs / shortest.limit,
    // The epsilon keeps 10 × (1 − 0.3) at 7 although floating point says 6.999…
    bulkShare: Math.floor(shortest.limit * (1 - realtimeReserve) + 1e-9),
    longestWindowMs: longest.windowMs,
  };
}

/** A sleep of `waitMs` plus up to `jitterMs` of jitter, so waiters of many processes spread. */
export function jitteredDelayMs(waitMs: number, jitterMs: number, random: () => number = Math.random): number {
  return Math.max(0, waitMs) + Math.max(0, jitterMs) * random();
}
