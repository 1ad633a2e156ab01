import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { CustomAttribute, LoyaltyStatus } from '../../src/lib/aiq/types.ts';
import { createSimulator, type Simulator } from '../../src/simulator/index.ts';

interface Reply<T> {
  status: number;
  body: { success: boolean; data: T; message?: string };
}

let sim: Simulator;
beforeEach(async () => {
  sim = await createSimulator({ seed: 20 });
});
afterEach(async () => {
  await sim.close();
});

async function call<T = unknown>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, raw?: string): Promise<Reply<T>> {
  const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const res = await request(`${sim.url}${path}`, {
    method,
    headers: { 'x-apikey': 'sim-key', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    body: payload ?? null,
  });
  return { status: res.statusCode, body: (await res.body.json()) as Reply<T>['body'] };
}

const optIn = (phone: string, query = '', loyalty = 'true') => call('PUT', `/api/v1.1/optin/1234/${phone}/${loyalty}${query}`);

describe('simulator: new contact', () => {
  it('creates a loyalty contact whose phone waits in the double opt-in requested state', async () => {
    const res = await call<{ contactID: string }>('POST', '/api/v2/loyalty', {
      mobilePhone: '+1 (415) 555-0111',
      email: 'New.Person@example.com',
      firstName: 'New',
      lastName: 'Person',
      loyalty: true,
      customAttributes: [{ key: 'tier', value: 'gold' }],
    });
    expect(res.status).toBe(200);
    const id = res.body.data.contactID;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const p = sim.control.persona(id);
    expect(p).toMatchObject({ mobilePhone: '4155550111', email: 'new.person@example.com', loyalty: true, hasRequested: true, optinTime: null });
    expect(p?.optreqTime).toEqual(expect.any(Number));
    expect((await call<CustomAttribute[]>('GET', `/api/v2/contact/customAttributes/1234/${id}`)).body.data).toMatchObject([{ key: 'tier', value: 'gold', parent: '' }]);
    expect(sim.control.ledger()).toMatchObject([{ seq: 1, route: 'createContact', method: 'POST', contactID: id, outcome: 'created', uid: '1234' }]);
  });

  it('opts the phone in at once when smsoptin is true', async () => {
    const res = await call<{ contactID: string }>('POST', '/api/v2/loyalty', { mobilePhone: '4155550112', loyalty: true, smsoptin: true });
    expect(sim.control.persona(res.body.data.contactID)).toMatchObject({ hasRequested: false, optinTime: expect.any(Number) });
  });

  it('answers the existing contact for a known phone, and every repeat is in the ledger', async () => {
    const first = await call<{ contactID: string }>('POST', '/api/v2/loyalty', { mobilePhone: '4155550113' });
    const again = await call<{ contactID: string }>('POST', '/api/v2/loyalty', { mobilePhone: '415-555-0113', firstName: 'Later' });
    expect(again.body.data.contactID).toBe(first.body.data.contactID);
    expect(sim.control.persona(first.body.data.contactID)?.firstName).toBe('Later');
    expect(sim.control.ledger().map((e) => e.outcome)).toEqual(['created', 'existing']);
  });

  it('refuses a body without phone or email, a bad phone, bad JSON and wrong types with 400, applying nothing', async () => {
    expect((await call('POST', '/api/v2/loyalty', { firstName: 'Nobody' })).status).toBe(400);
    expect((await call('POST', '/api/v2/loyalty', { mobilePhone: '12345' })).status).toBe(400);
    expect((await call('POST', '/api/v2/loyalty', undefined, '{"mobilePhone": ')).status).toBe(400);
    expect((await call('POST', '/api/v2/loyalty', { mobilePhone: '4155550114', loyalty: 'yes' })).status).toBe(400);
    expect((await call('POST', '/api/v2/loyalty')).status).toBe(400);
    expect(sim.control.ledger()).toEqual([]);
  });
});

describe('simulator: loyalty lookup', () => {
  it('finds a contact by phone or URL-encoded email and answers data null for an unknown one', async () => {
    const p = sim.control.addPersona({ mobilePhone: '5035550120', email: 'look+up@example.com', loyalty: true, loyaltyPoints: 40, optinTime: 1_700_000_000 });
    const expected = { contactID: p.contactID, loyalty: true, smsOptIn: true, emailOptIn: false, loyaltyPoints: 40 };
    expect((await call<LoyaltyStatus>('GET', '/api/v2/loyalty/lookup/5035550120')).body.data).toEqual(expected);
    expect((await call<LoyaltyStatus>('GET', `/api/v2/loyalty/lookup/${encodeURIComponent('look+up@example.com')}`)).body.data).toEqual(expected);
    expect((await call('GET', '/api/v2/loyalty/lookup/5035550999')).body).toEqual({ success: true, data: null });
    expect((await call('GET', '/api/v2/loyalty/lookup/not-a-phone')).status).toBe(400);
  });
});

describe('simulator: SMS opt-in', () => {
  it('force-sets the opt-in by default', async () => {
    const p = sim.control.addPersona({ mobilePhone: '5035550130' });
    const res = await optIn('5035550130');
    expect(res.status).toBe(200);
    expect(sim.control.persona(p.contactID)).toMatchObject({ optinTime: expect.any(Number), hasRequested: false });
    expect(sim.control.ledger()).toMatchObject([{ route: 'optIn', method: 'PUT', outcome: 'optedIn', phone: '5035550130', contactID: p.contactID }]);
  });

  it('with doubleOpt puts the number in the requested state until the customer replies YES', async () => {
    const p = sim.control.addPersona({ mobilePhone: '5035550131' });
    await optIn('5035550131', '?doubleOpt=true');
    expect(sim.control.persona(p.contactID)).toMatchObject({ hasRequested: true, optreqTime: expect.any(Number), optinTime: null });
    await optIn('5035550131', '?doubleOpt=true');
    expect(sim.control.ledger().map((e) => e.outcome)).toEqual(['requested', 'requested']);
    sim.control.replyToOptIn('5035550131', 'YES');
    expect(sim.control.persona(p.contactID)).toMatchObject({ hasRequested: false, optinTime: expect.any(Number), optoutTime: null });
  });

  it('opts out for good when the customer replies STOP', async () => {
    const p = sim.control.addPersona({ mobilePhone: '5035550132' });
    await optIn('5035550132', '?doubleOpt=true');
    sim.control.replyToOptIn('5035550132', 'STOP');
    await optIn('5035550132');
    expect(sim.control.persona(p.contactID)).toMatchObject({ hasRequested: false, optinTime: null, optoutTime: expect.any(Number) });
    expect(() => sim.control.replyToOptIn('5035550132', 'YES')).toThrow(/no double opt-in is pending/);
  });

  it('skips the double opt-in when loyalty is false', async () => {
    const p = sim.control.addPersona({ mobilePhone: '5035550133' });
    await optIn('5035550133', '?doubleOpt=true', 'false');
    expect(sim.control.persona(p.contactID)).toMatchObject({ hasRequested: false, optinTime: expect.any(Number) });
  });

  it('never re-opts-in an explicitly opted-out number: success, state unchanged', async () => {
    const p = sim.control.addPersona({ mobilePhone: '5035550134', optedOut: true, optoutTime: 1_700_000_000 });
    const before = sim.control.persona(p.contactID);
    for (const res of [await optIn('5035550134'), await optIn('5035550134', '?doubleOpt=true'), await call('PUT', '/api/v2/optin/text/5035550134/true')]) {
      expect(res.status).toBe(200);
    }
    expect(sim.control.persona(p.contactID)).toEqual(before);
    expect(sim.control.ledger().map((e) => e.outcome)).toEqual(['unchanged:optedOut', 'unchanged:optedOut', 'unchanged:optedOut']);
  });

  it('opts out through the v2 text route with a false status', async () => {
    const p = sim.control.addPersona({ mobilePhone: '5035550135', optinTime: 1_700_000_000 });
    expect((await call('PUT', '/api/v2/optin/text/5035550135/false')).status).toBe(200);
    expect(sim.control.persona(p.contactID)).toMatchObject({ optinTime: null, optoutTime: expect.any(Number) });
  });

  it('never creates a contact: 404 for an unknown phone, 400 for a malformed phone or flag', async () => {
    expect((await optIn('5035550199')).status).toBe(404);
    expect(sim.control.findByPhone('5035550199')).toBeUndefined();
    expect((await optIn('12345')).status).toBe(400);
    sim.control.addPersona({ mobilePhone: '5035550136' });
    expect((await optIn('5035550136', '', 'maybe')).status).toBe(400);
    expect((await optIn('5035550136', '?doubleOpt=perhaps')).status).toBe(400);
    expect(sim.control.ledger()).toEqual([]);
  });
});

describe('simulator: override attributes', () => {
  it('merges writes key by key, applies them to the persona and reads them back', async () => {
    const p = sim.control.addPersona({ firstName: 'Old', mobilePhone: '5035550140' });
    const path = `/api/v2/loyaltyContact/override/1234/${p.contactID}`;
    expect((await call('GET', path)).body).toEqual({ success: true, data: null });
    expect((await call('POST', path, { firstName: 'New', birthday: '1990-01-01' })).status).toBe(200);
    expect((await call('POST', path, { lastName: 'Name', email: 'NEW.NAME@example.com' })).status).toBe(200);
    expect((await call('GET', path)).body.data).toEqual({ firstName: 'New', birthday: '1990-01-01', lastName: 'Name', email: 'new.name@example.com' });
    expect(sim.control.persona(p.contactID)).toMatchObject({ firstName: 'New', lastName: 'Name', email: 'new.name@example.com' });
    expect(sim.control.ledger().filter((e) => e.route === 'writeOverride')).toHaveLength(2);
  });

  it('answers 404 for an unknown contact and 400 for a body that is not an object', async () => {
    const p = sim.control.addPersona({ mobilePhone: '5035550141' });
    expect((await call('POST', `/api/v2/loyaltyContact/override/1234/${'f'.repeat(32)}`, { a: 1 })).status).toBe(404);
    expect((await call('GET', `/api/v2/loyaltyContact/override/1234/${'f'.repeat(32)}`)).status).toBe(404);
    expect((await call('POST', `/api/v2/loyaltyContact/override/1234/${p.contactID}`, [1, 2])).status).toBe(400);
    expect((await call('POST', `/api/v2/loyaltyContact/override/1234/${p.contactID}`, { mobilePhone: 'abc' })).status).toBe(400);
  });
});

describe('simulator: custom attributes', () => {
  it('upserts by key on POST, replaces on PUT and stamps each item', async () => {
    const p = sim.control.addPersona({ mobilePhone: '5035550150' });
    const path = `/api/v2/contact/customAttributes/1234/${p.contactID}`;
    await call('POST', path, [{ key: 'tier', value: 'silver' }, { key: 'store', value: 'Downtown', parent: 'prefs' }]);
    await call('POST', path, { customAttributes: [{ key: 'tier', value: 'gold' }] });
    const after = (await call<CustomAttribute[]>('GET', path)).body.data;
    expect(after).toEqual([
      { key: 'tier', value: 'gold', parent: '', ts: expect.any(Number) },
      { key: 'store', value: 'Downtown', parent: 'prefs', ts: expect.any(Number) },
    ]);
    await call('PUT', path, [{ key: 'only', value: 1 }]);
    expect((await call<CustomAttribute[]>('GET', path)).body.data).toEqual([{ key: 'only', value: '1', parent: '', ts: expect.any(Number) }]);
    expect(sim.control.ledger().map((e) => e.method)).toEqual(['POST', 'POST', 'PUT']);
  });

  it('answers 400 for a malformed item and 404 for an unknown contact', async () => {
    const p = sim.control.addPersona({ mobilePhone: '5035550151' });
    expect((await call('POST', `/api/v2/contact/customAttributes/1234/${p.contactID}`, [{ value: 'no key' }])).status).toBe(400);
    expect((await call('POST', `/api/v2/contact/customAttributes/1234/${p.contactID}`, { key: 'a', value: 'b' })).status).toBe(400);
    expect((await call('GET', `/api/v2/contact/customAttributes/1234/${'a'.repeat(32)}`)).status).toBe(404);
    expect(sim.control.ledger()).toEqual([]);
  });
});
