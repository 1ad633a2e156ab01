import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: SimulatorOptions): Promise<Simulator> {
  sim = await createSimulator(options);
  return sim;
}

async function send(s: Simulator, path = '/api/v1.1/piis/1234?limit=1', init: { method?: 'GET' | 'PUT' | 'POST'; body?: unknown; key?: string } = {}) {
  const res = await request(`${s.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'x-apikey': init.key ?? 'sim-key', 'content-type': 'application/json' },
    body: init.body === undefined ? null : JSON.stringify(init.body),
  });
  await res.body.dump();
  return { status: res.statusCode, retryAfter: res.headers['retry-after'] };
}

const burst = (s: Simulator, n: number, init?: Parameters<typeof send>[2], path?: string) =>
  Promise.all(Array.from({ length: n }, () => send(s, path, init)));

describe('simulator: rate limits', () => {
  it('admits exactly 5 of 20 simultaneous requests under 5/s; the other 15 get 429 with Retry-After', async () => {
    const s = await start({ seed: 3, limits: [{ limit: 5, windowMs: 1_000 }] });
    const results = await burst(s, 20);
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    const limited = results.filter((r) => r.status === 429);
    expect(limited).toHaveLength(15);
    for (const r of limited) expect(r.retryAfter).toBe('1');
    expect(s.control.stats()).toMatchObject({ requests: 20, rateLimited: 15, byStatus: { '200': 5, '429': 15 }, byRoute: { listPersonas: 20 } });
  });

  it('answers 429 without Retry-After when that is switched off', async () => {
    const s = await start({ seed: 1, limits: [{ limit: 5, windowMs: 1_000 }], retryAfter: false });
    const results = await burst(s, 20);
    const limited = results.filter((r) => r.status === 429);
    expect(limited).toHaveLength(15);
    expect(limited.every((r) => r.retryAfter === undefined)).toBe(true);
  });

  it('applies none of the writes it refuses with 429', async () => {
    const s = await start({ limits: [{ limit: 5, windowMs: 1_000 }] });
    const p = s.control.addPersona({ mobilePhone: '3035550100', loyaltyPoints: 0 });
    const results = await burst(s, 12, { method: 'PUT', body: { value: 10, note: 'burst' } }, `/api/v1.1/adjust/loyaltyPoints/1234/${p.contactID}`);
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    expect(s.control.ledger()).toHaveLength(5);
    expect(s.control.persona(p.contactID)?.loyaltyPoints).toBe(50);
  });

  it('holds every window at once and never counts a refused request (fake clock)', async () => {
    let now = 1_000_000;
    const s = await start({ seed: 1, clock: () => now, limits: [{ limit: 3, windowMs: 1_000 }, { limit: 5, windowMs: 60_000 }] });
    const statuses = async (n: number) => (await burst(s, n)).map((r) => r.status).sort();
    expect(await statuses(4)).toEqual([200, 200, 200, 429]);
    now += 999; // still inside the first second: the refused request did not count, but nothing expired yet
    expect((await send(s)).status).toBe(429);
    now += 1; // one second after the first three
    expect(await statuses(3)).toEqual([200, 200, 429]);
    const limited = await send(s);
    expect(limited).toEqual({ status: 429, retryAfter: '59' }); // the minute window: 5 accepted
    now += 59_000;
    expect((await send(s)).status).toBe(200);
  });

  it('counts each API key separately, and never limits the control routes', async () => {
    const s = await start({ seed: 1, limits: [{ limit: 2, windowMs: 60_000 }], accounts: [{ apiKey: 'second', uid: '77' }] });
    expect((await burst(s, 3)).map((r) => r.status).sort()).toEqual([200, 200, 429]);
    expect((await burst(s, 3, { key: 'second' }, '/api/v1.1/piis/77')).map((r) => r.status).sort()).toEqual([200, 200, 429]);
    for (let i = 0; i < 5; i++) expect((await send(s, '/_sim/stats')).status).toBe(200);
  });

  it('changes limits at run time and removes them with null', async () => {
    const s = await start({ seed: 1 });
    expect((await burst(s, 10)).every((r) => r.status === 200)).toBe(true);
    s.control.setLimits([{ limit: 1, windowMs: 60_000 }], { retryAfter: false });
    expect((await burst(s, 2)).map((r) => [r.status, r.retryAfter]).sort()).toEqual([[200, undefined], [429, undefined]]);
    s.control.setLimits(null);
    expect((await burst(s, 10)).every((r) => r.status === 200)).toBe(true);
  });
});
