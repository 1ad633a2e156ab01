import { afterEach, describe, expect, it } from 'vitest';
import { createDeadLetters } from '../../src/producers/dlq.ts';
import { FAST_TUNING, startPipeline, type TestPipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait-for.ts';

let pipeline: TestPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

describe('dead letters', () => {
  it('dead-letters a job that keeps failing, with its error code, and a replay after the fix applies it once', async () => {
    pipeline = await startPipeline({
      sim: { faults: [{ route: 'adjustPoints', kind: 'error5xx', probability: 1, status: 500 }] },
      tuning: { ...FAST_TUNING, jobOptions: { points: { attempts: 3, backoff: { type: 'fixed', delay: 50 } } } },
    });
    const persona = pipeline.sim.control.addPersona({ mobilePhone: '4155550601' });
    const [r] = await pipeline.app.producer.enqueuePos([
      { source: 'pos', storeId: '9', transactionId: 'P-1', type: 'sale', occurredAt: '2026-11-28T10:00:00Z', customer: { phone: '4155550601' }, total: 25 },
    ]);
    const dead = await waitFor(async () => (await pipeline!.app.events.readAll()).find((e) => e.kind === 'job.dead'), { timeoutMs: 30_000 });
    expect(dead).toMatchObject({ key: r!.idempotencyKey, attempts: 3 });
    expect(dead.detail).toMatchObject({ code: 'AIQ_ERR_SERVER', status: 500 });

    const letters = createDeadLetters({ queues: pipeline.app.queues, ledger: pipeline.app.ledger });
    expect(await letters.list({ code: 'AIQ_ERR_AUTH' })).toEqual([]);
    const listed = await letters.list({ queue: 'points', code: 'AIQ_ERR_SERVER' });
    expect(listed).toEqual([expect.objectContaining({ jobId: r!.jobId, key: r!.idempotencyKey, code: 'AIQ_ERR_SERVER', attemptsMade: 3 })]);
    expect(pipeline.sim.control.ledger()).toHaveLength(0);

    // The cause is fixed; the replay runs the same idempotency key.
    pipeline.sim.control.setFaults([]);
    expect(await letters.replay({ queue: 'points' })).toHaveLength(1);
    const applied = await waitFor(async () => (await pipeline!.app.events.readAll()).find((e) => e.kind === 'points.applied'), { timeoutMs: 30_000 });
    expect(applied.key).toBe(r!.idempotencyKey);
    expect(pipeline.sim.control.ledger().filter((l) => l.route === 'adjustPoints')).toHaveLength(1);
    expect(pipeline.sim.control.persona(persona.contactID)!.loyaltyPoints).toBe((persona.loyaltyPoints ?? 0) + 25);
    expect(await letters.list()).toEqual([]);
    // A second replay finds nothing to do.
    expect(await letters.replay()).toEqual([]);
  });

  it('replays a job that died after an ambiguous attempt without applying it twice', async () => {
    pipeline = await startPipeline({
      env: { AIQ_TIMEOUT_MS: '500' },
      sim: { faults: [{ route: 'adjustPoints', kind: 'applyThenDrop', probability: 1 }] },
      tuning: { ...FAST_TUNING, jobOptions: { points: { attempts: 1 } } },
    });
    pipeline.sim.control.addPersona({ mobilePhone: '4155550602' });
    const [r] = await pipeline.app.producer.enqueuePos([
      { source: 'pos', storeId: '9', transactionId: 'P-2', type: 'sale', occurredAt: '2026-11-28T10:00:00Z', customer: { phone: '4155550602' }, total: 10 },
    ]);
    const dead = await waitFor(async () => (await pipeline!.app.events.readAll()).find((e) => e.kind === 'job.dead'), { timeoutMs: 30_000 });
    expect(dead.detail).toMatchObject({ code: 'AIQ_ERR_OUTCOME_UNKNOWN' });
    pipeline.sim.control.setFaults([]);
    const letters = createDeadLetters({ queues: pipeline.app.queues, ledger: pipeline.app.ledger });
    await letters.replay({ jobId: r!.jobId });
    const applied = await waitFor(async () => (await pipeline!.app.events.readAll()).find((e) => e.kind === 'points.applied'), { timeoutMs: 30_000 });
    expect(applied.detail).toMatchObject({ reconciled: true });
    expect(pipeline.sim.control.ledger().filter((l) => l.route === 'adjustPoints')).toHaveLength(1);
  });
});
