import { afterEach, describe, expect, it } from 'vitest';
import type { ResultEvent } from '../../src/lib/events.ts';
import type { PosTransaction } from '../../src/producers/schemas.ts';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait-for.ts';

let pipeline: TestPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

function sale(id: string, phone: string, total: number, extra: Partial<PosTransaction> = {}): PosTransaction {
  return { source: 'treez', storeId: '12', transactionId: id, type: 'sale', occurredAt: '2026-11-28T10:00:00Z', customer: { phone }, total, ...extra };
}

async function terminalEvents(p: TestPipeline): Promise<ResultEvent[]> {
  return (await p.app.events.readAll()).filter((e) => e.kind !== '');
}

async function waitForTerminal(p: TestPipeline, count: number, timeoutMs = 20_000): Promise<ResultEvent[]> {
  return waitFor(async () => {
    const events = await terminalEvents(p);
    return events.length >= count ? events : false;
  }, { timeoutMs, message: `${count} terminal events` });
}

describe('points pipeline', () => {
  it('credits a sale once with floor(total × POINTS_PER_DOLLAR) and the key as the note', async () => {
    pipeline = await startPipeline({ env: { POINTS_PER_DOLLAR: '2' } });
    const persona = pipeline.sim.control.addPersona({ mobilePhone: '4155550101', loyaltyPoints: 10 });
    const [result] = await pipeline.app.producer.enqueuePos([sale('T-1', '(415) 555-0101', 21.75)]);
    expect(result).toMatchObject({ transactionId: 'T-1', idempotencyKey: 'pos:treez:12:T-1:sale', status: 'queued' });

    const [event] = await waitForTerminal(pipeline, 1);
    expect(event).toMatchObject({ id: 'points.applied:pos:treez:12:T-1:sale', kind: 'points.applied', key: 'pos:treez:12:T-1:sale', queue: 'points', account: 'default', contactID: persona.contactID, jobId: result!.jobId });
    expect(event!.detail).toMatchObject({ value: 43, type: 'sale' });
    const adjustments = pipeline.sim.control.ledger().filter((l) => l.route === 'adjustPoints');
    expect(adjustments).toEqual([expect.objectContaining({ contactID: persona.contactID, value: 43, note: 'pos:treez:12:T-1:sale' })]);
    expect(pipeline.sim.control.persona(persona.contactID)!.loyaltyPoints).toBe(53);
  });

  it('answers duplicate for the same transaction, before and after it completed, and applies it once', async () => {
    pipeline = await startPipeline();
    pipeline.sim.control.addPersona({ mobilePhone: '4155550102' });
    const t = sale('T-2', '4155550102', 10);
    const [first, second] = await Promise.all([pipeline.app.producer.enqueuePos([t]), pipeline.app.producer.enqueuePos([t])]);
    expect([first![0]!.status, second![0]!.status].sort()).toEqual(['duplicate', 'queued']);
    await waitForTerminal(pipeline, 1);
    const [late] = await pipeline.app.producer.enqueuePos([t]);
    expect(late!.status).toBe('duplicate');
    // Removing the completed job does not make the key new again: the ledger remembers it.
    await pipeline.app.queues.points.clean(0, 1000, 'completed');
    const [afterClean] = await pipeline.app.producer.enqueuePos([t]);
    expect(afterClean!.status).toBe('duplicate');
    expect(pipeline.sim.control.ledger().filter((l) => l.route === 'adjustPoints')).toHaveLength(1);
  });

  it('makes no API call for a transaction worth 0 points', async () => {
    pipeline = await startPipeline();
    pipeline.sim.control.addPersona({ mobilePhone: '4155550103' });
    await pipeline.app.producer.enqueuePos([sale('T-3', '4155550103', 0.99)]);
    const [event] = await waitForTerminal(pipeline, 1);
    expect(event!.kind).toBe('points.unchanged');
    expect(pipeline.sim.control.stats().requests).toBe(0);
  });

  it('reverses exactly what a sale applied when its void arrives first, and a return takes back its own amount', async () => {
    pipeline = await startPipeline();
    const persona = pipeline.sim.control.addPersona({ mobilePhone: '4155550104', loyaltyPoints: 0 });
    const voidT = sale('V-1', '4155550104', 999, { type: 'void', originalTransactionId: 'S-1' });
    const ret = sale('R-1', '4155550104', 5.5, { type: 'return', originalTransactionId: 'S-2' });
    await pipeline.app.producer.enqueuePos([voidT, ret]);
    // Nothing happens while the originals are missing.
    await pipeline.app.producer.enqueuePos([sale('S-1', '4155550104', 30, { points: 40 }), sale('S-2', '4155550104', 20)]);
    const events = await waitForTerminal(pipeline, 4);
    const byKey = new Map(events.map((e) => [e.key, e]));
    expect(byKey.get('pos:treez:12:V-1:void')!.detail).toMatchObject({ value: -40 });
    expect(byKey.get('pos:treez:12:R-1:return')!.detail).toMatchObject({ value: -5 });
    const values = pipeline.sim.control.ledger().filter((l) => l.route === 'adjustPoints').map((l) => l.value);
    expect(values.sort((a, b) => a! - b!)).toEqual([-40, -5, 20, 40]);
    expect(pipeline.sim.control.persona(persona.contactID)!.loyaltyPoints).toBe(15);
  });

  it('credits once when AIQ applies the adjustment and then drops the connection', async () => {
    pipeline = await startPipeline({ sim: { faults: [{ route: 'adjustPoints', kind: 'applyThenDrop', probability: 1 }] } });
    pipeline.sim.control.addPersona({ mobilePhone: '4155550105' });
    await pipeline.app.producer.enqueuePos([sale('T-5', '4155550105', 12)]);
    const [event] = await waitForTerminal(pipeline, 1);
    expect(event).toMatchObject({ kind: 'points.applied' });
    expect(event!.detail).toMatchObject({ reconciled: true });
    expect(event!.attempts).toBeGreaterThanOrEqual(2);
    expect(pipeline.sim.control.ledger().filter((l) => l.route === 'adjustPoints')).toHaveLength(1);
  });

  it('credits once when AIQ applies the adjustment and answers after the client timed out', async () => {
    pipeline = await startPipeline({
      env: { AIQ_TIMEOUT_MS: '300' },
      sim: { faults: [{ route: 'adjustPoints', kind: 'applyThenLate', probability: 1, latencyMs: 2_000 }] },
    });
    pipeline.sim.control.addPersona({ mobilePhone: '4155550106' });
    await pipeline.app.producer.enqueuePos([sale('T-6', '4155550106', 7)]);
    const [event] = await waitForTerminal(pipeline, 1);
    expect(event!.kind).toBe('points.applied');
    expect(pipeline.sim.control.ledger().filter((l) => l.route === 'adjustPoints')).toHaveLength(1);
  });

  it('retries a 5xx answered before applying, and applies once', async () => {
    pipeline = await startPipeline({ sim: { faults: [{ route: 'adjustPoints', kind: 'error5xx', probability: 0.6 }] } });
    pipeline.sim.control.addPersona({ mobilePhone: '4155550107' });
    const list = Array.from({ length: 20 }, (_, i) => sale(`T-7-${i}`, '4155550107', 1 + i));
    await pipeline.app.producer.enqueuePos(list);
    const events = await waitForTerminal(pipeline, 20, 40_000);
    expect(events.every((e) => e.kind === 'points.applied')).toBe(true);
    const applied = pipeline.sim.control.ledger().filter((l) => l.route === 'adjustPoints');
    expect(applied).toHaveLength(20);
    expect(new Set(applied.map((l) => l.note)).size).toBe(20);
    expect(pipeline.sim.control.stats().byStatus['503']).toBeGreaterThan(0);
  });

  it('sends a job to the dead letters with its error code when the key is refused, without retrying', async () => {
    pipeline = await startPipeline();
    pipeline.sim.control.addPersona({ mobilePhone: '4155550108' });
    await pipeline.sim.close();
    pipeline.sim = await (await import('../../src/simulator/index.ts')).createSimulator({ apiKey: 'another-key', uid: '1234', port: pipeline.sim.port });
    pipeline.sim.control.addPersona({ mobilePhone: '4155550108' });
    const [r] = await pipeline.app.producer.enqueuePos([sale('T-8', '4155550108', 3)]);
    const [event] = await waitForTerminal(pipeline, 1);
    expect(event).toMatchObject({ kind: 'job.dead', attempts: 1 });
    expect(event!.detail).toMatchObject({ code: 'AIQ_ERR_AUTH' });
    const job = await pipeline.app.queues.points.getJob(r!.jobId);
    expect(await job!.getState()).toBe('failed');
    expect(job!.failedReason).toMatch(/^AIQ_ERR_AUTH: /);
  });
});
