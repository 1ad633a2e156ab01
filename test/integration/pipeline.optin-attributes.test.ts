import { afterEach, describe, expect, it } from 'vitest';
import type { ResultEvent } from '../../src/lib/events.ts';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait-for.ts';

let pipeline: TestPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

async function waitForKeys(p: TestPipeline, keys: string[], timeoutMs = 20_000): Promise<Map<string, ResultEvent>> {
  return waitFor(async () => {
    const byKey = new Map((await p.app.events.readAll()).map((e) => [e.key, e]));
    return keys.every((k) => byKey.has(k)) ? byKey : false;
  }, { timeoutMs, message: `terminal events for ${keys.join(', ')}` });
}

const optInCalls = (p: TestPipeline) => p.sim.control.ledger().filter((l) => l.route === 'optIn');

describe('opt-ins', () => {
  it('refuses an explicitly opted-out number without calling AIQ or retrying', async () => {
    pipeline = await startPipeline();
    pipeline.sim.control.addPersona({ mobilePhone: '4155550201', optedOut: true });
    const r = await pipeline.app.producer.enqueueOptIn({ eventId: 'e1', phone: '4155550201', doubleOpt: false, loyalty: true, source: 'shop' });
    const events = await waitForKeys(pipeline, [r.idempotencyKey]);
    expect(events.get(r.idempotencyKey)).toMatchObject({ kind: 'optin.refused', attempts: 1 });
    expect(optInCalls(pipeline)).toHaveLength(0);
    expect(pipeline.sim.control.findByPhone('4155550201')!.optinTime ?? null).toBeNull();
  });

  it('leaves a double opt-in requested, and a redelivery or a second event for the number makes no second call', async () => {
    pipeline = await startPipeline();
    const persona = pipeline.sim.control.addPersona({ mobilePhone: '4155550202' });
    const first = { eventId: 'e2', phone: '415-555-0202', doubleOpt: true, loyalty: true, source: 'shop' };
    const r1 = await pipeline.app.producer.enqueueOptIn({ ...first, phone: '4155550202' });
    const again = await pipeline.app.producer.enqueueOptIn({ ...first, phone: '4155550202' });
    expect(again.status).toBe('duplicate');
    await waitForKeys(pipeline, [r1.idempotencyKey]);
    const r2 = await pipeline.app.producer.enqueueOptIn({ ...first, eventId: 'e3', phone: '4155550202' });
    const events = await waitForKeys(pipeline, [r1.idempotencyKey, r2.idempotencyKey]);
    expect(events.get(r1.idempotencyKey)!.kind).toBe('optin.requested');
    expect(events.get(r2.idempotencyKey)!.kind).toBe('optin.requested');
    expect(optInCalls(pipeline)).toHaveLength(1);
    expect(pipeline.sim.control.persona(persona.contactID)).toMatchObject({ hasRequested: true });
  });

  it('sends one confirmation text when AIQ applies the double opt-in and drops the connection', async () => {
    pipeline = await startPipeline({ sim: { faults: [{ route: 'optIn', kind: 'applyThenDrop', probability: 1 }] } });
    pipeline.sim.control.addPersona({ mobilePhone: '4155550203' });
    const r = await pipeline.app.producer.enqueueOptIn({ eventId: 'e4', phone: '4155550203', doubleOpt: true, loyalty: true, source: 'shop' });
    const events = await waitForKeys(pipeline, [r.idempotencyKey]);
    // The second attempt finds the contact requested and sends nothing.
    expect(events.get(r.idempotencyKey)).toMatchObject({ kind: 'optin.requested' });
    expect(events.get(r.idempotencyKey)!.attempts).toBeGreaterThanOrEqual(2);
    expect(optInCalls(pipeline)).toHaveLength(1);
  });

  it('force-sets a single opt-in', async () => {
    pipeline = await startPipeline();
    pipeline.sim.control.addPersona({ mobilePhone: '4155550204' });
    const r = await pipeline.app.producer.enqueueOptIn({ eventId: 'e5', phone: '4155550204', doubleOpt: false, loyalty: true, source: 'shop' });
    const events = await waitForKeys(pipeline, [r.idempotencyKey]);
    expect(events.get(r.idempotencyKey)!.kind).toBe('optin.applied');
    expect(pipeline.sim.control.findByPhone('4155550204')!.optinTime).toBeGreaterThan(0);
  });
});

describe('attribute syncs', () => {
  it('skips unchanged attributes and older versions without an API call', async () => {
    pipeline = await startPipeline();
    const persona = pipeline.sim.control.addPersona({ mobilePhone: '4155550301' });
    const customer = { phone: '4155550301' };
    const v1 = await pipeline.app.producer.enqueueAttributes({ customer, attributes: { tier: 'gold', visits: 3 }, version: '2026-11-01T00:00:00Z' });
    await waitForKeys(pipeline, [v1.idempotencyKey]);
    const writesAfterFirst = pipeline.sim.control.ledger().length;
    const requestsAfterFirst = pipeline.sim.control.stats().requests;

    const v2 = await pipeline.app.producer.enqueueAttributes({ customer, attributes: { visits: 3, tier: 'gold' }, version: '2026-11-02T00:00:00Z' });
    const old = await pipeline.app.producer.enqueueAttributes({ customer, attributes: { tier: 'silver' }, version: '2026-10-01T00:00:00Z' });
    const events = await waitForKeys(pipeline, [v2.idempotencyKey, old.idempotencyKey]);
    expect(events.get(v1.idempotencyKey)!.kind).toBe('attributes.synced');
    expect(events.get(v2.idempotencyKey)!.kind).toBe('attributes.unchanged');
    expect(events.get(old.idempotencyKey)!.kind).toBe('attributes.stale');
    expect(pipeline.sim.control.ledger()).toHaveLength(writesAfterFirst);
    expect(pipeline.sim.control.stats().requests).toBe(requestsAfterFirst);

    const v3 = await pipeline.app.producer.enqueueAttributes({ customer, attributes: { tier: 'platinum' }, overrides: { firstName: 'Ada' }, version: '2026-11-03T00:00:00Z' });
    const after = await waitForKeys(pipeline, [v3.idempotencyKey]);
    expect(after.get(v3.idempotencyKey)!.kind).toBe('attributes.synced');
    const writes = pipeline.sim.control.ledger().filter((l) => l.contactID === persona.contactID).map((l) => l.route);
    expect(writes).toEqual(['customAttributes', 'customAttributes', 'writeOverride']);
  });
});

describe('contact resolution', () => {
  it('waits for a customer who is not in AIQ yet, then applies', async () => {
    pipeline = await startPipeline();
    const [r] = await pipeline.app.producer.enqueuePos([
      { source: 'treez', storeId: '1', transactionId: 'late-1', type: 'sale', occurredAt: '2026-11-28T10:00:00Z', customer: { phone: '4155550401' }, total: 9 },
    ]);
    await waitFor(async () => (await pipeline!.app.queues.points.getJob(r!.jobId))?.isDelayed(), { message: 'the job waits for the contact' });
    pipeline.sim.control.addPersona({ mobilePhone: '4155550401' });
    const events = await waitForKeys(pipeline, [r!.idempotencyKey]);
    expect(events.get(r!.idempotencyKey)!.kind).toBe('points.applied');
    // It ran more than once, but only the run that applied counts as an attempt.
    const job = await pipeline.app.queues.points.getJob(r!.jobId);
    expect(job!.attemptsStarted).toBeGreaterThanOrEqual(2);
    expect(job!.attemptsMade).toBe(1);
  });

  it('creates the contact first when configured to, then applies', async () => {
    pipeline = await startPipeline({ env: { CONTACT_NOT_FOUND: 'create' } });
    const [r] = await pipeline.app.producer.enqueuePos([
      { source: 'treez', storeId: '1', transactionId: 'new-1', type: 'sale', occurredAt: '2026-11-28T10:00:00Z', customer: { phone: '4155550402' }, total: 11 },
    ]);
    const events = await waitForKeys(pipeline, [r!.idempotencyKey, 'contact:treez:4155550402']);
    expect(events.get('contact:treez:4155550402')!.kind).toBe('contact.created');
    expect(events.get(r!.idempotencyKey)!.kind).toBe('points.applied');
    expect(pipeline.sim.control.ledger().filter((l) => l.route === 'createContact')).toHaveLength(1);
  });

  it('looks a merged contact up again and credits the surviving one', async () => {
    pipeline = await startPipeline();
    const from = pipeline.sim.control.addPersona({ mobilePhone: '4155550403' });
    const into = pipeline.sim.control.addPersona({ email: 'survivor@example.com' });
    const sale = (id: string) => ({ source: 'treez', storeId: '1', transactionId: id, type: 'sale' as const, occurredAt: '2026-11-28T10:00:00Z', customer: { phone: '4155550403' }, total: 5 });
    const [first] = await pipeline.app.producer.enqueuePos([sale('m-1')]);
    await waitForKeys(pipeline, [first!.idempotencyKey]);
    pipeline.sim.control.merge(from.contactID, into.contactID);
    const [second] = await pipeline.app.producer.enqueuePos([sale('m-2')]);
    const events = await waitForKeys(pipeline, [second!.idempotencyKey]);
    expect(events.get(second!.idempotencyKey)).toMatchObject({ kind: 'points.applied', contactID: into.contactID });
  });
});
