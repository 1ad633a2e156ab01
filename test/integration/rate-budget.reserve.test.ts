import { setMaxListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRateLimits } from '../../src/lib/config.ts';
import type { RateBudget } from '../../src/lib/rate-budget.ts';
import {
  achievedRate,
  collectGrants,
  createBudgetRig,
  drive,
  maxInAnyWindow,
  type BudgetRig,
  type GrantRecord,
} from '../helpers/rate-budget.ts';
import { waitFor } from '../helpers/wait-for.ts';

let rig: BudgetRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('rate budget lanes and the real-time reserve', () => {
  it('gives a real-time request the next slot while two processes saturate the budget with bulk work', async () => {
    rig = createBudgetRig(3, { windows: parseRateLimits('10/s'), realtimeReserve: 0.3 });
    const [bulkA, bulkB, realtimeProcess] = rig.budgets as [RateBudget, RateBudget, RateBudget];
    const stop = new AbortController();
    setMaxListeners(100, stop.signal);
    const bulk: GrantRecord[] = [];
    const running = drive([bulkA, bulkB], 'bulk', 3, stop.signal, bulk);
    try {
      const jumpedAhead: number[] = [];
      for (let round = 0; round < 6; round += 1) {
        // Arrive just after a bulk grant: the worst moment, a whole spacing before the next slot.
        const seen = bulk.length;
        await waitFor(() => bulk.length > seen, { intervalMs: 2 });
        const after = bulk[bulk.length - 1]!.at;
        const grant = await realtimeProcess.acquire('realtime');
        jumpedAhead.push(bulk.filter((g) => g.at > after && g.at < grant.grantedAt).length);
        expect(grant.waitedMs).toBeLessThan(400);
      }
      // At most one bulk grant may slip in (a real-time waker late by more than the head start).
      expect(Math.max(...jumpedAhead)).toBeLessThanOrEqual(1);
      expect(jumpedAhead.filter((n) => n === 0).length).toBeGreaterThanOrEqual(4);
      expect((await realtimeProcess.state()).realtimeWaiting).toBe(0);
    } finally {
      stop.abort();
      await running;
    }
  });

  it('lets bulk borrow the whole budget while no real-time request waits', async () => {
    rig = createBudgetRig(2, { windows: parseRateLimits('10/s'), realtimeReserve: 0.3 });
    const { budgets } = rig;
    const grants = await collectGrants(21, (signal, sink) => drive(budgets, 'bulk', 3, signal, sink));
    const times = grants.map((g) => g.at);
    // Without borrowing bulk would get 7 of 10.
    expect(achievedRate(times)).toBeGreaterThanOrEqual(9);
    expect(maxInAnyWindow(times, 1000)).toBeLessThanOrEqual(10);
  });

  it('holds bulk to its share while real-time work waits elsewhere, and releases it when that ends', async () => {
    rig = createBudgetRig(2, { windows: parseRateLimits('20/s'), realtimeReserve: 0.7 });
    const { budgets, redis, keys, account } = rig;
    // A process whose real-time request waits (and, here, never wakes to take its slot).
    await redis.zadd(keys.budgetDemand(account), Date.now() + 60_000, 'elsewhere');
    expect((await budgets[0]!.state()).realtimeWaiting).toBe(1);
    const held = await collectGrants(14, (signal, sink) => drive(budgets, 'bulk', 3, signal, sink));
    const heldTimes = held.map((g) => g.at);
    // Share: floor(20 × 0.3) = 6 per sliding second, instead of 20.
    expect(maxInAnyWindow(heldTimes, 1000)).toBeLessThanOrEqual(6);
    expect(achievedRate(heldTimes)).toBeGreaterThanOrEqual(4);

    await redis.zrem(keys.budgetDemand(account), 'elsewhere');
    const free = await collectGrants(21, (signal, sink) => drive(budgets, 'bulk', 3, signal, sink));
    // Released: well above the share of 6/s (the budget is 20/s).
    expect(achievedRate(free.map((g) => g.at))).toBeGreaterThanOrEqual(12);
  });

  it('never holds real-time work to the bulk share', async () => {
    rig = createBudgetRig(2, { windows: parseRateLimits('10/s'), realtimeReserve: 0.95 });
    const { budgets } = rig;
    const grants = await collectGrants(21, (signal, sink) =>
      Promise.all([drive(budgets, 'realtime', 2, signal, sink), drive(budgets, 'bulk', 2, signal, sink)]).then(
        () => undefined,
      ),
    );
    const times = grants.map((g) => g.at);
    expect(achievedRate(times)).toBeGreaterThanOrEqual(8);
    // With a 95 % reserve bulk may take nothing while real-time waits: real-time gets the slots.
    expect(grants.filter((g) => g.lane === 'realtime').length).toBeGreaterThanOrEqual(18);
  });
});
