import { describe, expect, it } from 'vitest';
import { parseRateLimits } from '../../src/lib/config.ts';
import { jitteredDelayMs, planRateBudget } from '../../src/lib/rate-budget-plan.ts';

describe('planRateBudget', () => {
  it('spaces grants by the shortest window divided by its limit', () => {
    expect(planRateBudget(parseRateLimits('5/s,120/m,2000/h'), 0.3).baseIntervalMs).toBe(200);
    expect(planRateBudget(parseRateLimits('50/s'), 0.3).baseIntervalMs).toBe(20);
    expect(planRateBudget(parseRateLimits('2000/h,3/2s'), 0).baseIntervalMs).toBeCloseTo(2000 / 3, 9);
  });

  it('sorts the windows shortest first and keeps the longest for history', () => {
    const plan = planRateBudget(parseRateLimits('2000/h,5/s,120/m'), 0.3);
    expect(plan.windows.map((w) => w.windowMs)).toEqual([1000, 60_000, 3_600_000]);
    expect(plan.longestWindowMs).toBe(3_600_000);
  });

  it('merges two windows of one length into the stricter one', () => {
    const plan = planRateBudget(parseRateLimits('10/s,6/1000ms'), 0.3);
    expect(plan.windows).toEqual([{ limit: 6, windowMs: 1000 }]);
  });

  it('gives bulk floor(limit × (1 − reserve)) of the shortest window despite floating point', () => {
    expect(planRateBudget(parseRateLimits('10/s'), 0.3).bulkShare).toBe(7);
    expect(planRateBudget(parseRateLimits('20/s'), 0.7).bulkShare).toBe(6);
    expect(planRateBudget(parseRateLimits('5/s'), 0.3).bulkShare).toBe(3);
    expect(planRateBudget(parseRateLimits('5/s'), 0).bulkShare).toBe(5);
    expect(planRateBudget(parseRateLimits('5/s'), 0.95).bulkShare).toBe(0);
    for (let limit = 1; limit <= 200; limit += 1) {
      for (const reserve of [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.9]) {
        const exact = Math.round(limit * (10 - reserve * 10)) / 10;
        expect(planRateBudget([{ limit, windowMs: 1000 }], reserve).bulkShare).toBe(Math.floor(exact));
      }
    }
  });

  it('refuses budgets that cannot be enforced', () => {
    expect(() => planRateBudget([], 0.3)).toThrow(/at least one window/);
    expect(() => planRateBudget([{ limit: 0, windowMs: 1000 }], 0.3)).toThrow(/limit/);
    expect(() => planRateBudget([{ limit: 2.5, windowMs: 1000 }], 0.3)).toThrow(/limit/);
    expect(() => planRateBudget([{ limit: 5, windowMs: 0 }], 0.3)).toThrow(/length/);
    expect(() => planRateBudget(parseRateLimits('5/s'), 0.96)).toThrow(/realtimeReserve/);
    expect(() => planRateBudget(parseRateLimits('5/s'), -0.1)).toThrow(/realtimeReserve/);
    expect(() => planRateBudget(parseRateLimits('5/s'), Number.NaN)).toThrow(/realtimeReserve/);
  });
});

describe('jitteredDelayMs', () => {
  it('adds up to the jitter to the wait and never goes below it', () => {
    expect(jitteredDelayMs(100, 3, () => 0)).toBe(100);
    expect(jitteredDelayMs(100, 3, () => 0.999)).toBeCloseTo(102.997, 6);
    expect(jitteredDelayMs(-5, 3, () => 0)).toBe(0);
  });
});
