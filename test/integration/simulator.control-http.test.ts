import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { Persona } from '../../src/lib/aiq/types.ts';
import { createSimulator, type LedgerEntry, type PersonaView, type Simulator, type SimulatorStats } from '../../src/simulator/index.ts';

interface Reply<T> {
  status: number;
  body: { success: boolean; data: T; message?: string };
}

let sim: Simulator;
beforeEach(async () => {
  sim = await createSimulator({ seed: 5, limits: [{ limit: 2, windowMs: 60_000 }] });
});
afterEach(async () => {
  await sim.close();
});

/** Control routes need no API key. */
async function control<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply<T>> {
  const res = await request(`${sim.url}/_sim/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Reply<T>['body'] };
}

async function api(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<number> {
  const res = await request(`${sim.url}${path}`, {
    method,
    headers: { 'x-apikey': 'sim-key', 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  await res.body.dump();
  return res.statusCode;
}

describe('simulator: /_sim control routes', () => {
  it('seeds, adds and reads personas', async () => {
    const seeded = await control<Persona[]>('POST', 'seed', { count: 3 });
    expect(seeded.body.data).toHaveLength(3);
    const added = await control<Persona>('POST', 'personas', { firstName: 'Ctl', mobilePhone: '3125550100', blocklisted: true });
    expect(added.status).toBe(201);
    const read = await control<PersonaView>('GET', `personas/${added.body.data.contactID}`);
    expect(read.body.data).toMatchObject({ firstName: 'Ctl', mobilePhone: '3125550100', blocklisted: true });
    expect((await control<Persona>('GET', 'phones/3125550100')).body.data.contactID).toBe(added.body.data.contactID);
    expect((await control('GET', `personas/${'0'.repeat(32)}`)).status).toBe(404);
    expect((await control('POST', 'personas', { mobilePhone: '3125550100' })).status).toBe(409);
    expect((await control('POST', 'seed', { count: -1 })).status).toBe(400);
  });

  it('shows the ledger, sets faults and limits, answers opt-ins, merges and blocklists', async () => {
    const a = sim.control.addPersona({ mobilePhone: '3125550101', loyaltyPoints: 10 });
    const b = sim.control.addPersona({ mobilePhone: '3125550102' });
    expect(await api('PUT', `/api/v1.1/optin/1234/3125550101/true?doubleOpt=true`)).toBe(200);
    expect((await control<LedgerEntry[]>('GET', 'ledger?uid=1234')).body.data).toMatchObject([{ route: 'optIn', outcome: 'requested' }]);

    expect((await control('POST', 'optin-reply', { phone: '312-555-0101', reply: 'YES' })).status).toBe(200);
    expect(sim.control.persona(a.contactID)).toMatchObject({ hasRequested: false, optinTime: expect.any(Number) });
    expect((await control('POST', 'optin-reply', { phone: '3125550102', reply: 'YES' })).status).toBe(409);

    expect((await control('POST', 'limits', { limits: null })).status).toBe(200);
    expect((await control('POST', 'faults', { rules: [{ route: 'getPersona', kind: 'error5xx', probability: 1, status: 502 }] })).status).toBe(200);
    expect(await api('GET', `/api/v1.1/piis/1234/${a.contactID}`)).toBe(502);
    expect((await control('POST', 'faults', { rules: [] })).status).toBe(200);
    expect((await control('POST', 'faults', { rules: [{ route: 'getPersona', kind: 'explode', probability: 1 }] })).status).toBe(400);

    expect((await control('POST', 'limits', { limits: '1/m', retryAfter: false })).status).toBe(200);
    expect(await api('GET', `/api/v1.1/piis/1234/${a.contactID}`)).toBe(200);
    expect(await api('GET', `/api/v1.1/piis/1234/${a.contactID}`)).toBe(429);
    expect((await control('POST', 'limits', { limits: 'fast' })).status).toBe(400);
    await control('POST', 'limits', { limits: null });

    expect((await control('POST', 'merge', { from: a.contactID, into: b.contactID })).status).toBe(200);
    expect(await api('GET', `/api/v1.1/piis/1234/${a.contactID}`)).toBe(404);
    expect(sim.control.persona(b.contactID)?.loyaltyPoints).toBe(10);
    expect((await control('POST', 'blocklist', { contactID: b.contactID })).status).toBe(200);
    expect(sim.control.persona(b.contactID)?.blocklisted).toBe(true);
    expect((await control('POST', 'blocklist', { contactID: a.contactID })).status).toBe(404);
  });

  it('reports statistics and resets everything to the start options', async () => {
    await api('GET', '/api/v1.1/piis/1234');
    await api('GET', '/api/v1.1/piis/1234');
    await api('GET', '/api/v1.1/piis/1234');
    const stats = (await control<SimulatorStats>('GET', 'stats')).body.data;
    expect(stats).toEqual({ requests: 3, rateLimited: 1, byRoute: { listPersonas: 3 }, byStatus: { '200': 2, '429': 1 } });
    const before = sim.control.seed(0);
    expect(before).toEqual([]);
    sim.control.addPersona({ mobilePhone: '3125550103' });
    expect((await control('POST', 'reset')).status).toBe(200);
    expect(sim.control.findByPhone('3125550103')).toBeUndefined();
    expect(sim.control.stats()).toEqual({ requests: 0, rateLimited: 0, byRoute: {}, byStatus: {} });
    // The start limits (2/min) hold again with fresh counters.
    expect([await api('GET', '/api/v1.1/piis/1234'), await api('GET', '/api/v1.1/piis/1234'), await api('GET', '/api/v1.1/piis/1234')]).toEqual([200, 200, 429]);
  });

  it('answers 404 for an unknown control route and 400 for bad JSON', async () => {
    expect((await control('GET', 'nothing')).status).toBe(404);
    const res = await request(`${sim.url}/_sim/seed`, { method: 'POST', body: '{count:', headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    await res.body.dump();
  });
});
