import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/lib/config.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createSimulator } from '../../src/simulator/index.ts';
import { createPrefixedRedis, testRedisUrl } from '../helpers/redis.ts';
import { spawnCli } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

async function setup(latencyMs: number, total: number) {
  const sim = await createSimulator({ apiKey: 'k-shutdown', uid: '1234', faults: [{ route: 'adjustPoints', kind: 'latency', probability: 1, latencyMs }] });
  cleanups.push(() => sim.close());
  const { prefix, cleanup } = createPrefixedRedis();
  cleanups.push(cleanup);
  const env = {
    REDIS_URL: testRedisUrl(),
    SYNC_PREFIX: prefix,
    AIQ_BASE_URL: sim.url,
    AIQ_API_KEY: 'k-shutdown',
    AIQ_UID: '1234',
    AIQ_RATE_LIMITS: '1000/s',
    AIQ_TIMEOUT_MS: '5000',
    WORKER_CONCURRENCY: '4',
    WORKER_LOCK_DURATION_MS: '3000',
    IDEMPOTENCY_LEASE_MS: '2000',
    LOG_LEVEL: 'silent',
  };
  const contactID = sim.control.addPersona({ mobilePhone: '4155550500' }).contactID;
  const app = createApp({ config: loadConfig(env), logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => app.close());
  await app.start();
  const list = Array.from({ length: total }, (_, i) => ({ source: 'pos', storeId: '1', transactionId: `S-${i}`, type: 'sale' as const, occurredAt: '2026-11-28T10:00:00Z', customer: { contactID }, total: 10 + i }));
  await app.producer.enqueuePos(list);
  return { sim, env, app };
}

const adjustments = (sim: Awaited<ReturnType<typeof setup>>['sim']) => sim.control.ledger().filter((l) => l.route === 'adjustPoints');

describe('worker shutdown', () => {
  it('finishes in-flight jobs on SIGTERM before exiting, and loses nothing', async () => {
    const { sim, env, app } = await setup(600, 12);
    const worker = spawnCli(['worker', '--queues', 'points'], env);
    cleanups.push(async () => worker.kill('SIGKILL'));
    await waitFor(async () => ((await app.queues.points.getJobCounts('active')).active ?? 0) > 0, { timeoutMs: 20_000, message: 'jobs in flight' });
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    // Whatever was in flight finished: nothing is active, nothing is half-applied.
    expect((await app.queues.points.getJobCounts('active')).active ?? 0).toBe(0);
    const done = (await app.events.readAll()).length;
    expect(adjustments(sim)).toHaveLength(done);
    expect(done).toBeGreaterThan(0);
    // A new worker takes the rest: every sale applied once.
    const next = spawnCli(['worker', '--queues', 'points'], { ...env, WORKER_SHUTDOWN_TIMEOUT_MS: '100' });
    cleanups.push(async () => next.kill('SIGKILL'));
    await waitFor(async () => (await app.events.readAll()).length >= 12, { timeoutMs: 30_000 });
    expect(new Set(adjustments(sim).map((l) => l.note)).size).toBe(12);
    expect(adjustments(sim)).toHaveLength(12);
  });

  it('aborts in-flight jobs at the deadline, and the next worker applies them exactly once', async () => {
    const { sim, env, app } = await setup(3_000, 4);
    const worker = spawnCli(['worker', '--queues', 'points'], { ...env, WORKER_SHUTDOWN_TIMEOUT_MS: '300' });
    cleanups.push(async () => worker.kill('SIGKILL'));
    await waitFor(() => (sim.control.stats().byRoute.adjustPoints ?? 0) >= 4, { timeoutMs: 20_000, message: 'all four requests sent' });
    const stoppedAt = Date.now();
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(2_500);
    const next = spawnCli(['worker', '--queues', 'points'], env);
    cleanups.push(async () => next.kill('SIGKILL'));
    const events = await waitFor(async () => {
      const all = await app.events.readAll();
      return all.length >= 4 ? all : false;
    }, { timeoutMs: 40_000 });
    expect(events.every((e) => e.kind === 'points.applied')).toBe(true);
    // AIQ applied the aborted calls (they were already sent): the next worker reconciled them.
    expect(adjustments(sim)).toHaveLength(4);
    expect(events.some((e) => e.detail.reconciled === true)).toBe(true);
  });
});
