import { afterEach, describe, expect, it } from 'vitest';
import { FAST_TUNING, startPipeline, type TestPipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait-for.ts';

let pipeline: TestPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

describe('the worker watchdog', () => {
  it('recreates a worker that stopped taking jobs while jobs wait', async () => {
    pipeline = await startPipeline({ queues: ['points'], tuning: { ...FAST_TUNING, watchdogIntervalMs: 100, watchdogStuckMs: 400 } });
    pipeline.sim.control.addPersona({ mobilePhone: '4155550801' });
    const pool = pipeline.app.workers!;
    const stuck = pool.workerOf('points')!;
    // The failure BullMQ users report after a Redis failover: the pool holds a worker whose loop
    // has stopped (here: closed behind the pool's back, and waited for until it has really stopped).
    await stuck.close(true);
    await waitFor(() => !stuck.isRunning(), { message: 'the worker loop stopped' });
    const [r] = await pipeline.app.producer.enqueuePos([
      { source: 'pos', storeId: '1', transactionId: 'W-1', type: 'sale', occurredAt: '2026-11-28T10:00:00Z', customer: { phone: '4155550801' }, total: 3 },
    ]);
    const event = await waitFor(async () => (await pipeline!.app.events.readAll()).find((e) => e.key === r!.idempotencyKey), { timeoutMs: 10_000 });
    expect(event.kind).toBe('points.applied');
    expect(pool.restarts()).toBe(1);
    expect(pool.workerOf('points')).not.toBe(stuck);
  });

  it('leaves an idle worker alone when no job waits', async () => {
    pipeline = await startPipeline({ queues: ['points'], tuning: { ...FAST_TUNING, watchdogIntervalMs: 50, watchdogStuckMs: 100 } });
    const pool = pipeline.app.workers!;
    const worker = pool.workerOf('points');
    // Well past the stuck threshold: many checks, nothing waiting, nothing recreated.
    await waitFor(() => pool.watchdogChecks() >= 10, { timeoutMs: 5_000 });
    expect(pool.restarts()).toBe(0);
    expect(pool.workerOf('points')).toBe(worker);
  });
});
