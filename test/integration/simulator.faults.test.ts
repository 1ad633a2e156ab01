import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createSimulator, type FaultRule, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { waitFor } from '../helpers/wait-for.ts';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  sim = await createSimulator(options);
  return sim;
}

async function adjust(s: Simulator, contactID: string, value: number, key = 'sim-key'): Promise<number> {
  const res = await request(`${s.url}/api/v1.1/adjust/loyaltyPoints/1234/${contactID}`, {
    method: 'PUT',
    headers: { 'x-apikey': key, 'content-type': 'application/json' },
    body: JSON.stringify({ value, note: `fault-test:${value}` }),
  });
  await res.body.dump();
  return res.statusCode;
}

async function getPersona(s: Simulator, contactID: string): Promise<number> {
  const res = await request(`${s.url}/api/v1.1/piis/1234/${contactID}`, { headers: { 'x-apikey': 'sim-key' } });
  await res.body.dump();
  return res.statusCode;
}

function customer(s: Simulator) {
  return s.control.addPersona({ mobilePhone: '2065550100', loyaltyPoints: 100 });
}

describe('simulator: faults', () => {
  it('applyThenDrop: the client sees a socket error and the ledger shows the write applied once', async () => {
    const s = await start({ faults: [{ route: 'adjustPoints', kind: 'applyThenDrop', probability: 1 }] });
    const p = customer(s);
    const error = await adjust(s, p.contactID, 25).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ code: 'UND_ERR_SOCKET' });
    expect(s.control.ledger()).toMatchObject([{ route: 'adjustPoints', value: 25, contactID: p.contactID }]);
    expect(s.control.ledger()).toHaveLength(1);
    expect(s.control.persona(p.contactID)?.loyaltyPoints).toBe(125);
    expect(s.control.stats().byStatus).toEqual({ dropped: 1 });
  });

  it('applyThenLate: applies at once and answers only after latencyMs', async () => {
    const s = await start({ faults: [{ route: 'adjustPoints', kind: 'applyThenLate', probability: 1, latencyMs: 400 }] });
    const p = customer(s);
    const started = Date.now();
    let answeredAt: number | undefined;
    const pending = adjust(s, p.contactID, 7).then((status) => {
      answeredAt = Date.now();
      return status;
    });
    await waitFor(() => s.control.ledger().length === 1, { message: 'the write was applied' });
    expect(answeredAt).toBeUndefined();
    expect(s.control.persona(p.contactID)?.loyaltyPoints).toBe(107);
    expect(await pending).toBe(200);
    expect((answeredAt ?? 0) - started).toBeGreaterThanOrEqual(390);
  });

  it('error5xx: answers the status before applying anything', async () => {
    const s = await start({ faults: [{ route: 'adjustPoints', kind: 'error5xx', probability: 1 }] });
    const p = customer(s);
    expect(await adjust(s, p.contactID, 5)).toBe(503);
    s.control.setFaults([{ route: '*', method: 'put', kind: 'error5xx', probability: 1, status: 500 }]);
    expect(await adjust(s, p.contactID, 5)).toBe(500);
    expect(s.control.ledger()).toEqual([]);
    expect(s.control.persona(p.contactID)?.loyaltyPoints).toBe(100);
  });

  it('latency: delays, then handles normally', async () => {
    const s = await start({ faults: [{ route: 'getPersona', kind: 'latency', probability: 1, latencyMs: 300 }] });
    const p = customer(s);
    const started = Date.now();
    expect(await getPersona(s, p.contactID)).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('matches rules by route and method only', async () => {
    const s = await start({ faults: [{ route: 'getPersona', method: 'GET', kind: 'error5xx', probability: 1 }] });
    const p = customer(s);
    expect(await getPersona(s, p.contactID)).toBe(503);
    expect(await adjust(s, p.contactID, 1)).toBe(200);
  });

  it('draws from the seeded PRNG: the same seed gives the same sequence, and about the given share fires', async () => {
    const faults: FaultRule[] = [{ route: 'getPersona', kind: 'error5xx', probability: 0.5 }];
    const run = async (randomSeed: number) => {
      const s = await createSimulator({ faults, randomSeed });
      try {
        const p = customer(s);
        const out: number[] = [];
        for (let i = 0; i < 60; i++) out.push(await getPersona(s, p.contactID));
        return out;
      } finally {
        await s.close();
      }
    };
    const a = await run(42);
    expect(await run(42)).toEqual(a);
    expect(await run(43)).not.toEqual(a);
    const failed = a.filter((x) => x === 503).length;
    expect(failed).toBeGreaterThan(15);
    expect(failed).toBeLessThan(45);
  });

  it('applies faults only after authentication and rate limiting', async () => {
    const s = await start({ limits: [{ limit: 1, windowMs: 60_000 }], faults: [{ route: '*', kind: 'error5xx', probability: 1 }] });
    const p = customer(s);
    expect(await adjust(s, p.contactID, 1, 'wrong-key')).toBe(403);
    expect(await adjust(s, p.contactID, 1)).toBe(503);
    expect(await adjust(s, p.contactID, 1)).toBe(429);
  });

  it('close() ends a connection held by applyThenLate at once', async () => {
    const s = await start({ faults: [{ route: 'adjustPoints', kind: 'applyThenLate', probability: 1 }] });
    const p = customer(s);
    const pending = adjust(s, p.contactID, 3).then(
      () => 'answered',
      () => 'socket closed',
    );
    await waitFor(() => s.control.ledger().length === 1);
    const started = Date.now();
    await s.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await pending).toBe('socket closed');
  });

  it('refuses an invalid rule', async () => {
    const s = await start();
    expect(() => s.control.setFaults([{ route: 'adjustPoints', kind: 'error5xx', probability: 2 }])).toThrow(/probability/);
    expect(() => s.control.setFaults([{ route: 'nope' as 'adjustPoints', kind: 'latency', probability: 1 }])).toThrow(/route/);
  });
});
