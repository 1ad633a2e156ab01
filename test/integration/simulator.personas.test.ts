import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { Persona, PersonaPage } from '../../src/lib/aiq/types.ts';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';

interface Reply<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { success: boolean; data: T; message?: string; errors?: Array<{ message: string }> };
}

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  sim = await createSimulator(options);
  return sim;
}

async function get<T>(s: Simulator, path: string, headers: Record<string, string> = { 'x-apikey': 'sim-key' }): Promise<Reply<T>> {
  const res = await request(`${s.url}${path}`, { method: 'GET', headers });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Reply<T>['body'] };
}

const list = (s: Simulator, query: string) => get<PersonaPage>(s, `/api/v1.1/piis/1234?${query}`);

describe('simulator: list personas and persona by ID', () => {
  it('answers seeded personas in the envelope, with every documented field filled realistically', async () => {
    const s = await start({ seed: 30 });
    const res = await list(s, 'limit=100');
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    const results = res.body.data.results ?? [];
    expect(results.length).toBe(res.body.data.total);
    const withPhone = results.filter((p) => p.mobilePhone != null);
    expect(withPhone.length).toBeGreaterThan(20);
    for (const p of results) {
      expect(p.contactID).toMatch(/^[0-9a-f]{32}$/);
      expect(p.srcID).toMatch(/^[A-Z]{2}-\d+$/);
      if (p.mobilePhone != null) expect(p.mobilePhone).toMatch(/^[2-9]\d{2}[2-9]\d{6}$/);
      if (p.email != null) expect(p.email).toMatch(/@example\.(com|org|net)$/);
      expect(typeof p.inserted).toBe('number');
      expect(typeof p.loyaltyPoints).toBe('number');
      expect(p).toHaveProperty('referCode');
    }
    expect(new Set(withPhone.map((p) => p.mobilePhone)).size).toBe(withPhone.length);
  });

  it('pages 2,500 visible personas 1,000 at a time: two full pages, a shorter one, then results null', async () => {
    const s = await start();
    const seeded = s.control.seed(2_560);
    const visible = seeded.filter((p) => s.control.persona(p.contactID)?.blocklisted === false);
    expect(visible.length).toBeGreaterThan(2_000);
    expect(visible.length).toBeLessThan(2_560);
    const pages: PersonaPage[] = [];
    for (let start = 0; start <= 3_000; start += 1_000) pages.push((await list(s, `start=${start}&limit=1000`)).body.data);
    expect(pages.map((p) => p.size)).toEqual([1_000, 1_000, visible.length - 2_000, 0]);
    expect(pages[3]?.results).toBeNull();
    expect(pages.every((p) => p.total === visible.length)).toBe(true);
    const ids = pages.flatMap((p) => (p.results ?? []).map((r) => r.contactID));
    expect(new Set(ids)).toEqual(new Set(visible.map((p) => p.contactID)));
  });

  it('refuses a limit outside 1..2000 and unknown sort or dir with 400', async () => {
    const s = await start({ seed: 3 });
    for (const q of ['limit=0', 'limit=2001', 'limit=ten', 'start=-1', 'sort=shoeSize', 'dir=up']) {
      const res = await list(s, q);
      expect(res.status, q).toBe(400);
      expect(res.body.success).toBe(false);
      expect(res.body.errors?.[0]?.message).toBe(res.body.message);
    }
    expect((await list(s, 'limit=2000')).status).toBe(200);
  });

  it('sorts by points descending with stable ties', async () => {
    const s = await start({ seed: 200 });
    const page = (await list(s, 'sort=points&dir=desc&limit=2000')).body.data.results ?? [];
    const points = page.map((p) => p.loyaltyPoints ?? 0);
    expect(points).toEqual([...points].sort((a, b) => b - a));
  });

  it('never lists nor finds a blocklisted persona', async () => {
    const s = await start({ seed: 10 });
    const hidden = s.control.addPersona({ firstName: 'Hidden', lastName: 'Person', mobilePhone: '4155550199', email: 'hidden@example.com', blocklisted: true });
    const shown = s.control.addPersona({ firstName: 'Shown', lastName: 'Person', mobilePhone: '4155550198' });
    const all = (await list(s, 'limit=2000')).body.data.results ?? [];
    expect(all.map((p) => p.contactID)).toContain(shown.contactID);
    expect(all.map((p) => p.contactID)).not.toContain(hidden.contactID);
    for (const search of ['4155550199', 'hidden@example.com', 'email:hidden@example.com', hidden.contactID, '"Hidden Person"']) {
      expect((await list(s, `search=${encodeURIComponent(search)}`)).body.data.results, search).toBeNull();
    }
    const lookup = await get<unknown>(s, '/api/v2/loyalty/lookup/4155550199');
    expect(lookup.body).toEqual({ success: true, data: null });
    s.control.blocklist(shown.contactID);
    expect((await list(s, 'search=4155550198')).body.data.results).toBeNull();
  });

  it('searches by phone, email, contact ID, source ID, quoted full name and flags', async () => {
    const s = await start({ seed: 50 });
    const p = s.control.addPersona({
      srcID: 'POS-777',
      firstName: 'Zelda',
      lastName: 'Quartermaine',
      mobilePhone: '(503) 555-0142',
      email: 'Zelda.Q@Example.com',
      loyalty: true,
      loyaltyPoints: 12,
    });
    const only = async (search: string) => ((await list(s, `search=${encodeURIComponent(search)}`)).body.data.results ?? []).map((r) => r.contactID);
    for (const search of ['5035550142', '+1-503-555-0142', 'zelda.q@example.com', 'email:zelda.q@example.com', p.contactID, 'POS-777', '"Zelda Quartermaine"', 'Quartermaine']) {
      expect(await only(search), search).toEqual([p.contactID]);
    }
    expect(await only('"Zelda"')).toEqual([]);
    expect(await only('Quartermaine is:member has:points has:email')).toEqual([p.contactID]);
    expect(await only('Quartermaine not:member')).toEqual([]);
    const noEmail = s.control.addPersona({ firstName: 'No', lastName: 'Mail', mobilePhone: '5035550143' });
    expect(await only('has:email Mail')).not.toContain(noEmail.contactID);
    expect((await list(s, 'search=nobody-by-this-name')).body.data).toMatchObject({ results: null, size: 0, total: 0 });
  });

  it('answers one persona by ID, 404 for an unknown ID and for an unknown route', async () => {
    const s = await start({ seed: 5 });
    const [first] = s.control.seed(1);
    const res = await get<Persona>(s, `/api/v1.1/piis/1234/${first?.contactID ?? ''}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual(first);
    expect((await get(s, `/api/v1.1/piis/1234/${'0'.repeat(32)}`)).status).toBe(404);
    expect((await get(s, '/api/v1.1/nothing/here')).status).toBe(404);
    expect((await get(s, '/api/v2/loyalty')).status).toBe(404);
  });

  it('matches paths case-insensitively', async () => {
    const s = await start({ seed: 5 });
    expect((await get<PersonaPage>(s, '/API/V1.1/PIIS/1234?limit=5')).body.data.size).toBe(5);
  });

  it('answers 403 "Please provide a valid API key" without the header, with a wrong one, or with the key in the query', async () => {
    const s = await start({ seed: 1 });
    for (const [path, headers] of [
      ['/api/v1.1/piis/1234', {}],
      ['/api/v1.1/piis/1234', { 'x-apikey': 'wrong' }],
      ['/api/v1.1/piis/1234?apiKey=sim-key&X-APIKEY=sim-key', {}],
      ['/api/v1.1/piis/1234', { authorization: 'Bearer sim-key' }],
      ['/api/v1.1/unknown/route', {}],
    ] as const) {
      const res = await get(s, path, headers);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ success: false, message: 'Please provide a valid API key' });
    }
  });

  it("refuses with 403 a uid in the path that is not the key's account, and serves each account its own data", async () => {
    const s = await start({ seed: 3, accounts: [{ apiKey: 'other-key', uid: '999' }] });
    expect((await get(s, '/api/v1.1/piis/999')).status).toBe(403);
    const mine = s.control.addPersona({ mobilePhone: '6195550101' }, '999');
    const other = await get<PersonaPage>(s, '/api/v1.1/piis/999', { 'x-apikey': 'other-key' });
    expect(other.body.data.total).toBe(4);
    expect(other.body.data.results?.map((p) => p.contactID)).toContain(mine.contactID);
    expect((await list(s, 'search=6195550101')).body.data.results).toBeNull();
  });

  it('seeds the same data from the same random seed and different data from another', async () => {
    const a = await createSimulator({ seed: 20, randomSeed: 7, port: 0 });
    const b = await createSimulator({ seed: 20, randomSeed: 7, port: 0 });
    const c = await createSimulator({ seed: 20, randomSeed: 8, port: 0 });
    try {
      const ids = async (x: Simulator) => ((await list(x, 'limit=100&sort=id')).body.data.results ?? []).map((p) => [p.contactID, p.mobilePhone]);
      expect(await ids(a)).toEqual(await ids(b));
      expect(await ids(a)).not.toEqual(await ids(c));
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});
