import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { Adjustment, OrderItem, PersonaPage, PointsTimeline, PredictedProduct } from '../../src/lib/aiq/types.ts';
import { createSimulator, type Simulator } from '../../src/simulator/index.ts';

interface Reply<T> {
  status: number;
  body: { success: boolean; data: T; message?: string };
}

let sim: Simulator;
/** The simulator's clock: tests move it instead of sleeping. */
let nowMs = 1_767_225_600_000;
beforeEach(async () => {
  nowMs = 1_767_225_600_000;
  sim = await createSimulator({ seed: 40, clock: () => nowMs });
});
afterEach(async () => {
  await sim.close();
});

async function call<T = unknown>(method: 'GET' | 'PUT', path: string, body?: unknown, raw?: string): Promise<Reply<T>> {
  const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const res = await request(`${sim.url}${path}`, {
    method,
    headers: { 'x-apikey': 'sim-key', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    body: payload ?? null,
  });
  return { status: res.statusCode, body: (await res.body.json()) as Reply<T>['body'] };
}

const adjust = (id: string, body: unknown) => call('PUT', `/api/v1.1/adjust/loyaltyPoints/1234/${id}`, body);
const nowS = () => Math.floor(nowMs / 1000);

describe('simulator: points', () => {
  it('adds two adjustments up and shows both in the feed and the timeline with their notes', async () => {
    const p = sim.control.addPersona({ firstName: 'Pat', lastName: 'Points', mobilePhone: '7025550100', email: 'pat@example.com', loyalty: true, loyaltyPoints: 100 });
    const t0 = nowS();
    expect((await adjust(p.contactID, { value: 40, note: 'pos:treez:12:T-1:sale' })).status).toBe(200);
    nowMs += 5_000;
    expect((await adjust(p.contactID, { value: -15, note: 'pos:treez:12:T-1:return' })).status).toBe(200);
    expect(sim.control.persona(p.contactID)?.loyaltyPoints).toBe(125);

    const feed = (await call<Adjustment[]>('GET', `/api/v1.1/adjustments/1234/${t0}/${nowS()}`)).body.data;
    expect(feed).toEqual([
      { cntID: p.contactID, value: 40, note: 'pos:treez:12:T-1:sale', ts: t0, phone: '7025550100', email: 'pat@example.com', name: 'Pat Points' },
      { cntID: p.contactID, value: -15, note: 'pos:treez:12:T-1:return', ts: t0 + 5, phone: '7025550100', email: 'pat@example.com', name: 'Pat Points' },
    ]);
    // Both bounds are inclusive.
    expect((await call<Adjustment[]>('GET', `/api/v1.1/adjustments/1234/${t0 + 5}/${t0 + 5}`)).body.data).toHaveLength(1);

    const timeline = (await call<PointsTimeline>('GET', `/api/v1.1/contact/loyaltyPoints/timeline/1234/${p.contactID}`)).body.data;
    expect(timeline.contactID).toBe(p.contactID);
    expect(timeline.events.map((e) => [e.type, e.value, e.balance, e.note])).toEqual([
      ['import', 100, 100, 'opening balance'],
      ['adjustment', 40, 140, 'pos:treez:12:T-1:sale'],
      ['adjustment', -15, 125, 'pos:treez:12:T-1:return'],
    ]);
    const later = (await call<PointsTimeline>('GET', `/api/v1.1/contact/loyaltyPoints/timeline/1234/${p.contactID}?start=${t0 + 1}&end=${t0 + 10}`)).body.data;
    expect(later.events.map((e) => e.value)).toEqual([-15]);
    expect(sim.control.ledger().map((e) => [e.route, e.value, e.note])).toEqual([
      ['adjustPoints', 40, 'pos:treez:12:T-1:sale'],
      ['adjustPoints', -15, 'pos:treez:12:T-1:return'],
    ]);
  });

  it('answers data null for a feed window without adjustments', async () => {
    expect((await call('GET', `/api/v1.1/adjustments/1234/${nowS() - 100}/${nowS()}`)).body).toEqual({ success: true, data: null });
  });

  it('refuses a value that is not a signed integer, a missing body and bad JSON with 400, applying nothing', async () => {
    const p = sim.control.addPersona({ mobilePhone: '7025550101', loyaltyPoints: 10 });
    for (const body of [{ value: 1.5, note: 'x' }, { value: '10', note: 'x' }, { note: 'no value' }, { value: 5, note: 42 }]) {
      expect((await adjust(p.contactID, body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await call('PUT', `/api/v1.1/adjust/loyaltyPoints/1234/${p.contactID}`)).status).toBe(400);
    expect((await call('PUT', `/api/v1.1/adjust/loyaltyPoints/1234/${p.contactID}`, undefined, '{value: 5}')).status).toBe(400);
    expect(sim.control.persona(p.contactID)?.loyaltyPoints).toBe(10);
    expect(sim.control.ledger()).toEqual([]);
  });

  it('answers 404 for an unknown contact and 400 for epochs that are not seconds or out of order', async () => {
    expect((await adjust('0123456789abcdef0123456789abcdef', { value: 1, note: 'x' })).status).toBe(404);
    expect((await call('GET', `/api/v1.1/adjustments/1234/${nowMs - 1000}/${nowMs}`)).body.message).toMatch(/not milliseconds/);
    expect((await call('GET', `/api/v1.1/adjustments/1234/yesterday/${nowS()}`)).status).toBe(400);
    expect((await call('GET', `/api/v1.1/adjustments/1234/${nowS()}/${nowS() - 1}`)).status).toBe(400);
    const p = sim.control.addPersona({ mobilePhone: '7025550102' });
    expect((await call('GET', `/api/v1.1/contact/loyaltyPoints/timeline/1234/${p.contactID}?start=soon`)).status).toBe(400);
  });
});

describe('simulator: orders and predictions', () => {
  it('answers the line items of seeded orders, items of one order sharing a timestamp', async () => {
    const page = (await call<PersonaPage>('GET', '/api/v1.1/piis/1234?limit=100&sort=points&dir=desc')).body.data;
    const buyer = page.results?.[0];
    expect(buyer?.loyaltyPoints).toBeGreaterThan(0);
    const items = (await call<OrderItem[]>('GET', `/api/v1.1/contact/orders/1234/${buyer?.contactID ?? ''}`)).body.data;
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) {
      expect(item).toMatchObject({ name: expect.any(String), brand: expect.any(String), quantity: expect.any(Number), totalPrice: expect.any(Number), storeName: expect.any(String) });
    }
    expect(items.reduce((sum, i) => sum + i.totalPrice, 0)).toBe(buyer?.spent);
    const timeline = (await call<PointsTimeline>('GET', `/api/v1.1/contact/loyaltyPoints/timeline/1234/${buyer?.contactID ?? ''}`)).body.data;
    expect(timeline.events.at(-1)?.balance).toBe(buyer?.loyaltyPoints);
  });

  it('answers five predicted products, best first, the same every time', async () => {
    const [p] = sim.control.seed(1);
    const path = `/api/v2/contact/recommendations/${p?.contactID ?? ''}`;
    const first = (await call<PredictedProduct[]>('GET', path)).body.data;
    expect(first).toHaveLength(5);
    expect(first.map((x) => x.score)).toEqual([...first.map((x) => x.score)].sort((a, b) => b - a));
    expect((await call<PredictedProduct[]>('GET', path)).body.data).toEqual(first);
    expect((await call('GET', `/api/v2/contact/recommendations/${'e'.repeat(32)}`)).status).toBe(404);
    expect((await call('GET', `/api/v1.1/contact/orders/1234/${'e'.repeat(32)}`)).status).toBe(404);
  });
});

describe('simulator: overnight merge', () => {
  it('makes the old contact ID 404 and moves its points and data into the surviving contact', async () => {
    const from = sim.control.addPersona({ email: 'dup@example.com', loyaltyPoints: 30, srcID: 'TZ-9' });
    const into = sim.control.addPersona({ mobilePhone: '7025550110', loyaltyPoints: 50, loyalty: true });
    await adjust(from.contactID, { value: 5, note: 'before merge' });
    sim.control.merge(from.contactID, into.contactID);

    expect((await call('GET', `/api/v1.1/piis/1234/${from.contactID}`)).status).toBe(404);
    expect((await adjust(from.contactID, { value: 1, note: 'after merge' })).status).toBe(404);
    const listed = (await call<PersonaPage>('GET', '/api/v1.1/piis/1234?limit=2000')).body.data.results ?? [];
    expect(listed.map((p) => p.contactID)).not.toContain(from.contactID);
    expect(sim.control.persona(from.contactID)).toMatchObject({ mergedInto: into.contactID });
    expect(sim.control.persona(into.contactID)).toMatchObject({ loyaltyPoints: 85, email: 'dup@example.com', srcID: 'TZ-9' });
    const lookup = await call<{ contactID: string }>('GET', `/api/v2/loyalty/lookup/${encodeURIComponent('dup@example.com')}`);
    expect(lookup.body.data.contactID).toBe(into.contactID);
    const timeline = (await call<PointsTimeline>('GET', `/api/v1.1/contact/loyaltyPoints/timeline/1234/${into.contactID}`)).body.data;
    expect(timeline.events.at(-1)).toMatchObject({ type: 'merge', value: 35, balance: 85 });
  });

  it('keeps an explicit opt-out of the merged-away contact', () => {
    const from = sim.control.addPersona({ email: 'out@example.com', mobilePhone: '7025550111', optedOut: true });
    const into = sim.control.addPersona({ email: 'in@example.com', optinTime: 1_700_000_000 });
    sim.control.merge(from.contactID, into.contactID);
    expect(sim.control.persona(into.contactID)).toMatchObject({ optinTime: null, optoutTime: expect.any(Number), mobilePhone: '7025550111' });
    expect(() => sim.control.merge(from.contactID, into.contactID)).toThrow(/not found/);
  });
});
