import { afterEach, describe, expect, it } from 'vitest';
import { parseRateLimits } from '../../src/lib/config.ts';
import {
  achievedRate,
  collectGrants,
  createBudgetRig,
  drive,
  gaps,
  maxInAnyWindow,
  type BudgetRig,
} from '../helpers/rate-budget.ts';

let rig: BudgetRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('rate budget fidelity across processes', () => {
  it('never grants more than 10 in any sliding second to three processes, and uses at least 90 % of it', async () => {
    rig = createBudgetRig(3, { windows: parseRateLimits('10/s'), realtimeReserve: 0.3 });
    const { budgets } = rig;
    const grants = await collectGrants(26, (signal, sink) =>
      Promise.all([drive(budgets, 'realtime', 2, signal, sink), drive(budgets, 'bulk', 2, signal, sink)]).then(
        () => undefined,
      ),
    );
    const times = grants.map((g) => g.at);
    expect(maxInAnyWindow(times, 1000)).toBeLessThanOrEqual(10);
    expect(achievedRate(times)).toBeGreaterThanOrEqual(9);
    for (const instance of [0, 1, 2]) {
      expect(grants.filter((g) => g.instance === instance).length).toBeGreaterThanOrEqual(2);
    }
    const state = await budgets[0]!.state();
    expect(state.grantsInWindow[0]!.grants).toBeLessThanOrEqual(10);
  });

  it('spaces 20/s grants evenly instead of bursting at the start of each second', async () => {
    rig = createBudgetRig(2, { windows: parseRateLimits('20/s'), realtimeReserve: 0.3 });
    const { budgets } = rig;
    const grants = await collectGrants(30, (signal, sink) => drive(budgets, 'bulk', 3, signal, sink));
    const times = grants.map((g) => g.at);
    // Server-side spacing is exact (50 ms); a burst would show gaps near 0.
    expect(Math.min(...gaps(times))).toBeGreaterThanOrEqual(50);
    expect(maxInAnyWindow(times, 1000)).toBeLessThanOrEqual(20);
    // Waking late costs a little throughput on a busy machine; bursting would cost none.
    expect(achievedRate(times)).toBeGreaterThanOrEqual(15);
  });

  it('lets a longer window cap the count once the short window would allow more', async () => {
    rig = createBudgetRig(2, { windows: parseRateLimits('5/s,8/3s'), realtimeReserve: 0.3 });
    const { budgets } = rig;
    const grants = await collectGrants(10, (signal, sink) => drive(budgets, 'bulk', 2, signal, sink));
    const times = grants.map((g) => g.at);
    expect(maxInAnyWindow(times, 1000)).toBeLessThanOrEqual(5);
    expect(maxInAnyWindow(times, 3000)).toBeLessThanOrEqual(8);
    // The first eight come at the short window's pace; the ninth waits for the 3-s window to slide.
    expect(times[7]! - times[0]!).toBeLessThan(2500);
    expect(times[8]! - times[0]!).toBeGreaterThanOrEqual(3000);
  });

  it('reports each window’s count and orders the windows shortest first', async () => {
    rig = createBudgetRig(1, { windows: parseRateLimits('120/m,5/s'), realtimeReserve: 0.3 });
    const budget = rig.budgets[0]!;
    expect(budget.windows.map((w) => w.windowMs)).toEqual([1000, 60_000]);
    await budget.acquire('bulk');
    await budget.acquire('realtime');
    const state = await budget.state();
    expect(state.grantsInWindow).toEqual([
      { limit: 5, windowMs: 1000, grants: 2 },
      { limit: 120, windowMs: 60_000, grants: 2 },
    ]);
    expect(state.bulkGrantsInShortestWindow).toBe(1);
    expect(state.pace).toBe(1);
    expect(state.cooldownUntil).toBe(0);
    expect(budget.stats().grants).toEqual({ realtime: 1, bulk: 1 });
  });
});
