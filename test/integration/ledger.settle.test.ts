import { afterEach, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/lib/keys.ts';
import { createLedger } from '../../src/lib/ledger.ts';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.ts';
import { createTestRedis, deletePrefix, testPrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<unknown>> = [];
let pipeline: TestPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
  while (cleanups.length > 0) await cleanups.pop()!();
});

const adjustments = (p: TestPipeline) => p.sim.control.ledger().filter((l) => l.route === 'adjustPoints');

describe('settling an ambiguous attempt', () => {
  it('credits a sale once when AIQ applies it late, after its request waited for the rate budget', async () => {
    // AIQ holds the first request 1.9 s before applying it (within the 2 s settle window of a 1 s
    // timeout); the client gives up after 1 s.
    pipeline = await startPipeline({
      env: { AIQ_TIMEOUT_MS: '1000' },
      sim: { faults: [{ route: 'adjustPoints', kind: 'latency', probability: 1, latencyMs: 1_900 }] },
    });
    const { app, sim } = pipeline;
    const contactID = sim.control.addPersona({ mobilePhone: '4155550801', loyaltyPoints: 0 }).contactID;
    // The account cools down after a 429: the attempt claims its key, then its request waits
    // 2.5 s for the budget, longer than the settle window counted from the claim.
    await app.accounts.get('default')!.budget.reportRateLimited(2_500);
    const [r] = await app.producer.enqueuePos([
      { source: 'pos', storeId: '1', transactionId: 'LATE-1', type: 'sale', occurredAt: '2026-11-28T10:00:00Z', customer: { contactID }, total: 30 },
    ]);
    await waitFor(() => (sim.control.stats().byRoute.adjustPoints ?? 0) >= 1, { timeoutMs: 10_000, message: 'the first request reached AIQ' });
    sim.control.setFaults([]);
    const done = await waitFor(async () => (await app.events.readAll()).find((e) => e.key === r!.idempotencyKey), { timeoutMs: 20_000 });
    expect(done).toMatchObject({ kind: 'points.applied', detail: { reconciled: true } });
    // The late application is in; a second request would have been too.
    await waitFor(() => adjustments(pipeline!).length >= 1, { timeoutMs: 5_000 });
    expect(adjustments(pipeline)).toEqual([expect.objectContaining({ note: r!.idempotencyKey, value: 30 })]);
    expect((sim.control.stats().byRoute.adjustPoints ?? 0)).toBe(1);
  });

  it('keeps the key of a holder that died settling until the settle window after its lease ended', async () => {
    const redis = createTestRedis();
    const prefix = testPrefix();
    cleanups.push(async () => {
      await deletePrefix(redis, prefix);
      await redis.quit();
    });
    const ledger = createLedger({ redis, keys: createKeys(prefix) });
    const key = 'pos:t:1:DIED-1:sale';
    await ledger.accept(key);
    const first = await ledger.claim(key, 'holder-a', 300, 1_000);
    expect(first.kind).toBe('fresh');
    // holder-a renews while its request waits for the budget (its lease now ends well after the
    // claim's own settle time), sends, then dies without releasing.
    expect(await ledger.renew(key, 'holder-a', 1_500)).toBe(true);
    const leaseEnd = (await ledger.get(key))!.leaseUntil!;
    // Its request may have left just before the lease lapsed: the key settles 1 s after that.
    const next = await waitFor(async () => {
      const c = await ledger.claim(key, 'holder-b', 300, 1_000);
      return c.kind === 'busy' && c.leaseUntil <= leaseEnd ? false : c;
    }, { timeoutMs: 5_000 });
    expect(next).toEqual({ kind: 'busy', leaseUntil: leaseEnd + 1_000 });
    const after = await waitFor(async () => {
      const c = await ledger.claim(key, 'holder-b', 300, 1_000);
      return c.kind === 'busy' ? false : c;
    }, { timeoutMs: 5_000 });
    expect(after.kind).toBe('ambiguous');
    expect(Date.now()).toBeGreaterThanOrEqual(leaseEnd + 1_000 - 50);
  });
});
