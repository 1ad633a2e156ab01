import { afterEach, describe, expect, it } from 'vitest';
import { parseRateLimits } from '../../src/lib/config.ts';
import type { PosTransaction } from '../../src/producers/schemas.ts';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait-for.ts';

let pipeline: TestPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

function sales(contactIDs: string[], count: number, prefix: string): PosTransaction[] {
  return Array.from({ length: count }, (_, i) => ({
    source: 'pos',
    storeId: '1',
    transactionId: `${prefix}-${i}`,
    type: 'sale' as const,
    occurredAt: '2026-11-28T10:00:00Z',
    customer: { contactID: contactIDs[i % contactIDs.length]! },
    total: 10,
  }));
}

/** Requests per second between the first and the last of the given times. */
function rate(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return (sorted.length - 1) / ((sorted[sorted.length - 1]! - sorted[0]!) / 1000);
}

describe('one rate budget per account', () => {
  it('uses at least 95% of a 10/s budget with no 429 when AIQ allows exactly 10/s', async () => {
    pipeline = await startPipeline({ env: { AIQ_RATE_LIMITS: '10/s' }, sim: { limits: parseRateLimits('10/s') } });
    const ids = Array.from({ length: 5 }, () => pipeline!.sim.control.addPersona({}).contactID);
    // Two worker processes in effect: the budget is shared through Redis.
    await pipeline.spawnApp(['points']);
    await pipeline.app.producer.enqueuePos(sales(ids, 50, 'b'));
    await waitFor(() => pipeline!.sim.control.ledger().length >= 50, { timeoutMs: 30_000 });
    expect(pipeline.sim.control.stats().rateLimited).toBe(0);
    expect(rate(pipeline.sim.control.ledger().map((l) => l.at))).toBeGreaterThanOrEqual(9.5);
  });

  it('settles near AIQ’s real limit when the configured budget is too high, and the 429s stop', async () => {
    pipeline = await startPipeline({ env: { AIQ_RATE_LIMITS: '16/s' }, sim: { limits: parseRateLimits('8/s') } });
    const ids = Array.from({ length: 5 }, () => pipeline!.sim.control.addPersona({}).contactID);
    await pipeline.app.producer.enqueuePos(sales(ids, 140, 'c'));
    // The first 70 accepted requests cover the cool-downs; the last 70 show where it settled.
    await waitFor(() => pipeline!.sim.control.ledger().length >= 70, { timeoutMs: 60_000 });
    const limitedByThen = pipeline.sim.control.stats().rateLimited;
    await waitFor(() => pipeline!.sim.control.ledger().length >= 140, { timeoutMs: 60_000 });
    expect(limitedByThen).toBeGreaterThan(0);
    expect(pipeline.sim.control.stats().rateLimited).toBe(limitedByThen);
    const settled = rate(pipeline.sim.control.ledger().map((l) => l.at).slice(70));
    expect(settled).toBeGreaterThanOrEqual(8 * 0.8);
    expect(settled).toBeLessThanOrEqual(8.2);
  });

  it('finishes real-time sales enqueued behind 300 bulk attribute syncs first', async () => {
    pipeline = await startPipeline({ env: { AIQ_RATE_LIMITS: '50/s', AIQ_REALTIME_RESERVE: '0.3' }, sim: { limits: parseRateLimits('50/s') } });
    const ids = Array.from({ length: 20 }, () => pipeline!.sim.control.addPersona({}).contactID);
    const bulk = Array.from({ length: 300 }, (_, i) => ({ customer: { contactID: ids[i % ids.length]! }, attributes: { n: i }, version: i }));
    await pipeline.app.producer.enqueueAttributesMany(bulk);
    await waitFor(() => pipeline!.sim.control.ledger().length >= 20, { message: 'bulk work saturates the budget' });
    const enqueuedAt = Date.now();
    const live = await pipeline.app.producer.enqueuePos(sales(ids, 10, 'rt'));
    const liveKeys = new Set<string>(live.map((r) => r.idempotencyKey));
    const events = await waitFor(async () => {
      const all = await pipeline!.app.events.readAll();
      return all.filter((e) => e.queue === 'attributes').length >= 300 ? all : false;
    }, { timeoutMs: 60_000 });
    const liveEvents = events.filter((e) => liveKeys.has(e.key));
    expect(liveEvents.every((e) => e.kind === 'points.applied')).toBe(true);
    const lastLive = Math.max(...liveEvents.map((e) => e.at));
    const lastBulk = Math.max(...events.filter((e) => e.queue === 'attributes').map((e) => e.at));
    expect(lastLive).toBeLessThan(lastBulk);
    // Served at the real-time pace, not after the backlog: well under the ~6 s the bulk work takes.
    expect(lastLive - enqueuedAt).toBeLessThan(3_000);
    expect(pipeline.sim.control.stats().rateLimited).toBe(0);
  });
});
