/**
 * Local timekeeping of a rate budget instance (src/lib/rate-budget.ts): where Redis's clock is
 * relative to ours, and how much slack the windows need for requests that reach AIQ later than
 * the instant they were granted. Pure and synchronous; no Redis, no timers.
 */

/** Estimates `local - redis` clock offset from script replies: the smallest seen of the last samples. */
export interface ClockSync {
  /** A reply carrying Redis time `redisNow` arrived at local time `localAt`. */
  sample(localAt: number, redisNow: number): void;
  /** A Redis-clock instant on the local clock (epoch ms). */
  toLocal(redisMs: number): number;
}

export function createClockSync(size = 32): ClockSync {
  const samples: number[] = [];
  let offset = 0;
  return {
    sample(localAt, redisNow) {
      // The reply left Redis at redisNow and arrived here later: the smallest difference is the
      // offset plus the shortest one-way trip, the best estimate there is without a round trip.
      samples.push(localAt - redisNow);
      if (samples.length > size) samples.shift();
      offset = Math.min(...samples);
    },
    toLocal: (redisMs) => redisMs + offset,
  };
}

/**
 * The margin each window keeps: at least `baseMs`, widened by answers that took long (their
 * requests reached AIQ anywhere within that time) for as long as they can still be in the window,
 * at most a quarter of the window.
 */
export interface MarginTracker {
  observe(durationMs: number, localAt: number): void;
  /** The margin of a window of `windowMs` at local time `localNow`. */
  marginFor(windowMs: number, localNow: number): number;
  /** The slowest answer within the last `spanMs` and its age, to share with other instances; [0, 0] when none. */
  slowest(spanMs: number, localNow: number): [ms: number, ageMs: number];
}

export function createMarginTracker(baseMs: number, longestWindowMs: number, capacity = 1_000): MarginTracker {
  /** Answers slower than `baseMs`, oldest first. */
  const slow: Array<{ at: number; ms: number }> = [];
  return {
    observe(durationMs, localAt) {
      if (!(durationMs > baseMs)) return;
      slow.push({ at: localAt, ms: durationMs });
      while (slow.length > capacity || (slow.length > 0 && (slow[0] as { at: number }).at < localAt - longestWindowMs - 1_000)) slow.shift();
    },
    marginFor(windowMs, localNow) {
      let margin = baseMs;
      for (let i = slow.length - 1; i >= 0; i -= 1) {
        const s = slow[i] as { at: number; ms: number };
        if (s.at < localNow - windowMs - 1_000) break;
        if (s.ms > margin) margin = s.ms;
      }
      return Math.min(margin, windowMs / 4);
    },
    slowest(spanMs, localNow) {
      let best: [number, number] = [0, 0];
      for (let i = slow.length - 1; i >= 0; i -= 1) {
        const s = slow[i] as { at: number; ms: number };
        if (s.at < localNow - spanMs) break;
        if (s.ms > best[0]) best = [s.ms, Math.max(0, localNow - s.at)];
      }
      return best;
    },
  };
}
