import { afterEach, describe, expect, it } from 'vitest';
import { parseRateLimits } from '../../src/lib/config.ts';
import { AbortedError } from '../../src/lib/errors.ts';
import { createBudgetRig, type BudgetRig } from '../helpers/rate-budget.ts';
import { waitFor } from '../helpers/wait-for.ts';

let rig: BudgetRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('rate budget waiting, aborting and trying', () => {
  it('rejects an already aborted request with AbortedError and takes nothing', async () => {
    rig = createBudgetRig(1, { windows: parseRateLimits('10/s'), realtimeReserve: 0.3 });
    const { budgets, redis, keys, account } = rig;
    const budget = budgets[0]!;
    await expect(budget.acquire('realtime', AbortSignal.abort())).rejects.toBeInstanceOf(AbortedError);
    expect(await redis.zcard(keys.budgetDemand(account))).toBe(0);
    expect((await budget.state()).grantsInWindow[0]!.grants).toBe(0);
    expect(budget.stats().waiting).toEqual({ realtime: 0, bulk: 0 });
  });

  it('announces a waiting real-time request to other processes and withdraws it when aborted', async () => {
    rig = createBudgetRig(2, { windows: parseRateLimits('10/s'), realtimeReserve: 0.3 });
    const { budgets, redis, keys, account } = rig;
    const [reporter, waiter] = [budgets[0]!, budgets[1]!];
    await reporter.reportRateLimited(5_000);

    const first = new AbortController();
    const second = new AbortController();
    const a = waiter.acquire('realtime', first.signal);
    const b = waiter.acquire('realtime', second.signal);
    await waitFor(async () => (await reporter.state()).realtimeWaiting === 1, { message: 'demand announced' });
    expect(waiter.stats().waiting.realtime).toBe(2);

    first.abort();
    await expect(a).rejects.toBeInstanceOf(AbortedError);
    // One caller still waits in that process: the announcement stays.
    expect(await redis.zcard(keys.budgetDemand(account))).toBe(1);

    second.abort();
    await expect(b).rejects.toBeInstanceOf(AbortedError);
    expect(await redis.zcard(keys.budgetDemand(account))).toBe(0);
    const state = await reporter.state();
    expect(state.realtimeWaiting).toBe(0);
    expect(state.grantsInWindow[0]!.grants).toBe(0);
    expect(waiter.stats().waiting).toEqual({ realtime: 0, bulk: 0 });
  });

  it('serves the remaining callers after one of them aborts', async () => {
    rig = createBudgetRig(1, { windows: parseRateLimits('10/s'), realtimeReserve: 0.3 });
    const budget = rig.budgets[0]!;
    const cooldown = await budget.reportRateLimited(300);
    const aborted = new AbortController();
    const gone = budget.acquire('bulk', aborted.signal);
    const kept = budget.acquire('bulk');
    aborted.abort(new Error('job cancelled'));
    const error = await gone.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).cause).toBeInstanceOf(Error);
    const grant = await kept;
    expect(grant.grantedAt).toBeGreaterThanOrEqual(cooldown.cooldownUntil);
    expect((await budget.state()).grantsInWindow[0]!.grants).toBe(1);
  });

  it('tries once without waiting and without announcing demand', async () => {
    const waits: Array<[string, number]> = [];
    rig = createBudgetRig(1, {
      windows: parseRateLimits('10/s'),
      realtimeReserve: 0.3,
      onWait: (lane, waitMs) => waits.push([lane, waitMs]),
    });
    const budget = rig.budgets[0]!;
    const first = await budget.tryAcquire('realtime');
    expect(first.granted).toBe(true);
    const second = await budget.tryAcquire('realtime');
    expect(second).toMatchObject({ granted: false });
    if (!second.granted) {
      expect(second.waitMs).toBeGreaterThan(0);
      expect(second.waitMs).toBeLessThanOrEqual(100);
    }
    expect((await budget.state()).realtimeWaiting).toBe(0);

    const grant = await budget.acquire('realtime');
    expect(grant.grantedAt - (first.granted ? first.grantedAt : 0)).toBeGreaterThanOrEqual(100);
    expect(waits.length).toBeGreaterThanOrEqual(1);
    expect(waits[0]![0]).toBe('realtime');
    expect(budget.stats().grants.realtime).toBe(1);
    expect(budget.stats().waits.realtime).toBe(waits.length);
  });
});
