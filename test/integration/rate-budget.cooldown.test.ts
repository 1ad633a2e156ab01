import { afterEach, describe, expect, it } from 'vitest';
import { parseRateLimits } from '../../src/lib/config.ts';
import { createBudgetRig, type BudgetRig } from '../helpers/rate-budget.ts';
import { waitFor } from '../helpers/wait-for.ts';

let rig: BudgetRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('rate budget after a 429', () => {
  it('pauses every process until the Retry-After has passed', async () => {
    rig = createBudgetRig(2, { windows: parseRateLimits('10/s'), realtimeReserve: 0.3 });
    const [reporter, other] = rig.budgets as [NonNullable<BudgetRig['budgets'][0]>, NonNullable<BudgetRig['budgets'][0]>];
    const report = await reporter.reportRateLimited(1000);
    expect(report).toMatchObject({ counted: true, consecutive: 1, cooldownMs: 1000 });
    expect((await other.state()).cooldownUntil).toBe(report.cooldownUntil);

    const early = await other.tryAcquire('realtime');
    expect(early.granted).toBe(false);
    if (!early.granted) expect(early.waitMs).toBeGreaterThan(500);

    const [realtime, bulk] = await Promise.all([other.acquire('realtime'), other.acquire('bulk')]);
    expect(realtime.grantedAt).toBeGreaterThanOrEqual(report.cooldownUntil);
    expect(bulk.grantedAt).toBeGreaterThanOrEqual(report.cooldownUntil);
  });

  it('lowers the pace after a 429 and lets it recover gradually', async () => {
    rig = createBudgetRig(2, { windows: parseRateLimits('10/s'), realtimeReserve: 0.3 });
    const [reporter, other] = rig.budgets as [NonNullable<BudgetRig['budgets'][0]>, NonNullable<BudgetRig['budgets'][0]>];
    const report = await reporter.reportRateLimited(200);
    expect(report.pace).toBeCloseTo(0.7, 5);

    // Right after the cool-down, grants are spaced by 100 ms / pace ≈ 143 ms, not 100 ms.
    const first = await other.acquire('bulk');
    const second = await other.acquire('bulk');
    expect(first.grantedAt).toBeGreaterThanOrEqual(report.cooldownUntil);
    expect(second.grantedAt - first.grantedAt).toBeGreaterThanOrEqual(135);

    const soon = await other.state();
    expect(soon.pace).toBeLessThan(0.8);
    const later = await waitFor(
      async () => {
        const s = await other.state();
        return s.pace >= soon.pace + 0.02 ? s : undefined;
      },
      { timeoutMs: 5_000, message: 'pace recovering' },
    );
    // +0.05 per second: still well below 1 a second or so later.
    expect(later.pace).toBeLessThan(0.9);
  });

  it('ignores a late 429 of a request granted before the last one, and recovers the pace up to 1', async () => {
    rig = createBudgetRig(1, { windows: parseRateLimits('10/s'), realtimeReserve: 0.3, paceRecoveryPerSecond: 2 });
    const budget = rig.budgets[0]!;
    const burst = await budget.acquire('bulk');
    const first = await budget.reportRateLimited(100, { grantedAt: burst.grantedAt });
    expect(first).toMatchObject({ counted: true, consecutive: 1 });
    const next = await budget.acquire('bulk');
    expect(next.grantedAt).toBeGreaterThanOrEqual(first.cooldownUntil);
    // A slow request of the same burst answers 429 after the cool-down: not a new episode.
    const late = await budget.reportRateLimited(undefined, { grantedAt: burst.grantedAt });
    expect(late).toMatchObject({ counted: false, consecutive: 1 });
    expect(late.pace).toBeGreaterThanOrEqual(first.pace);

    await waitFor(async () => (await budget.state()).pace === 1, { timeoutMs: 5_000, message: 'pace back to 1' });
    // The recovered pace is what the next 429 lowers: 1 × 0.7, not 0.7 × 0.7.
    const again = await budget.reportRateLimited(100);
    expect(again.pace).toBeCloseTo(0.7, 5);
  });

  it('backs off exponentially without Retry-After, counts one burst once, and restarts after a quiet period', async () => {
    rig = createBudgetRig(2, {
      windows: parseRateLimits('10/s'),
      realtimeReserve: 0.3,
      cooldownBaseMs: 100,
      cooldownMaxMs: 500,
      backoffResetMs: 300,
    });
    const [a, b] = rig.budgets as [NonNullable<BudgetRig['budgets'][0]>, NonNullable<BudgetRig['budgets'][0]>];
    const cooldowns: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const grant = await b.acquire('realtime');
      const report = await a.reportRateLimited(undefined, { grantedAt: grant.grantedAt });
      expect(report.consecutive).toBe(i + 1);
      expect((await b.state()).cooldownUntil).toBe(report.cooldownUntil);
      cooldowns.push(report.cooldownMs);
    }
    expect(cooldowns).toEqual([100, 200, 400, 500]);

    // Other requests of the same burst report their 429s too: the cool-down does not grow.
    const during = await b.reportRateLimited();
    expect(during.counted).toBe(false);
    expect(during.consecutive).toBe(4);
    // Retry-After still extends it.
    const longer = await b.reportRateLimited(2000);
    expect(longer.counted).toBe(false);
    expect(longer.cooldownMs).toBe(2000);

    const quietFrom = longer.cooldownUntil + 300;
    await waitFor(async () => (await a.state()).now > quietFrom, { timeoutMs: 5_000, intervalMs: 50 });
    const fresh = await a.reportRateLimited();
    expect(fresh).toMatchObject({ counted: true, consecutive: 1, cooldownMs: 100 });
  });
});
