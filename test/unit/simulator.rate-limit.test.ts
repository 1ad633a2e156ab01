import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { RateWindow } from '../../src/lib/config.ts';
import { createKeyLimiter, retryAfterSeconds } from '../../src/simulator/rate-limit.ts';

/** Accepted requests in (t - windowMs, t]. */
const inWindow = (accepted: number[], t: number, w: RateWindow) => accepted.filter((a) => a > t - w.windowMs && a <= t).length;

describe('simulator rate limiter', () => {
  it('admits at most N requests in any sliding window and refuses only when a window is full', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ limit: fc.integer({ min: 1, max: 6 }), windowMs: fc.integer({ min: 1, max: 5_000 }) }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 120 }),
        (windows, gaps) => {
          const limiter = createKeyLimiter(windows);
          const accepted: number[] = [];
          let t = 0;
          for (const gap of gaps) {
            t += gap;
            const decision = limiter.tryAcquire(t);
            const full = windows.some((w) => inWindow(accepted, t, w) >= w.limit);
            expect(decision.allowed).toBe(!full);
            if (decision.allowed) {
              accepted.push(t);
            } else {
              // Retrying exactly after retryAfterMs would succeed, one ms earlier would not.
              const at = t + decision.retryAfterMs;
              expect(windows.every((w) => inWindow(accepted, at, w) < w.limit)).toBe(true);
              expect(windows.some((w) => inWindow(accepted, at - 1, w) >= w.limit)).toBe(true);
            }
          }
          for (const a of accepted) for (const w of windows) expect(inWindow(accepted, a, w)).toBeLessThanOrEqual(w.limit);
        },
      ),
    );
  });

  it('does not count refused requests', () => {
    const limiter = createKeyLimiter([{ limit: 2, windowMs: 1_000 }]);
    expect([0, 1, 2, 3, 500].map((t) => limiter.tryAcquire(t).allowed)).toEqual([true, true, false, false, false]);
    expect(limiter.tryAcquire(1_000).allowed).toBe(true);
    expect(limiter.tryAcquire(1_001).allowed).toBe(true);
    expect(limiter.tryAcquire(1_002)).toEqual({ allowed: false, retryAfterMs: 998 });
  });

  it('is unlimited without windows', () => {
    const limiter = createKeyLimiter([]);
    for (let i = 0; i < 1_000; i++) expect(limiter.tryAcquire(0).allowed).toBe(true);
  });

  it('rounds Retry-After up to whole seconds, at least 1', () => {
    expect([1, 999, 1_000, 1_001, 59_000].map(retryAfterSeconds)).toEqual([1, 1, 1, 2, 59]);
  });
});
