import type { RateWindow } from '../lib/config.ts';

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/** The rate windows of one API key. */
export interface KeyLimiter {
  /** Accepts the request at `nowMs` (and counts it) or says how long until one would be accepted. */
  tryAcquire(nowMs: number): RateDecision;
}

/**
 * Exact sliding windows: a request is accepted when, for every window `{limit, windowMs}`, fewer
 * than `limit` accepted requests lie in `(now - windowMs, now]`. Refused requests are not counted.
 * Keeps the last `max(limit)` accepted times in a ring, so each check is O(number of windows).
 */
export function createKeyLimiter(windows: readonly RateWindow[]): KeyLimiter {
  if (windows.length === 0) return { tryAcquire: () => ({ allowed: true }) };
  const capacity = Math.max(...windows.map((w) => w.limit));
  const ring = new Float64Array(capacity);
  let head = 0;
  let count = 0;
  return {
    tryAcquire(nowMs) {
      let waitMs = 0;
      for (const w of windows) {
        if (count < w.limit) continue;
        // The w.limit-th most recent accepted request: once it leaves the window there is room.
        const oldest = ring[(head - w.limit + capacity) % capacity] ?? 0;
        const wait = oldest + w.windowMs - nowMs;
        if (wait > waitMs) waitMs = wait;
      }
      if (waitMs > 0) return { allowed: false, retryAfterMs: waitMs };
      ring[head] = nowMs;
      head = (head + 1) % capacity;
      if (count < capacity) count++;
      return { allowed: true };
    },
  };
}

/** `Retry-After` in whole seconds, rounded up, at least 1. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}
