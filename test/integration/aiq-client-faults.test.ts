import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator } from '../../src/simulator/index.ts';
import type { SimulatorOptions } from '../../src/simulator/types.ts';
import {
  AbortedError,
  AiqAuthError,
  AiqNotSentError,
  AiqOutcomeUnknownError,
  AiqRateLimitedError,
  AiqServerError,
} from '../../src/lib/errors.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createAiqClient } from '../../src/lib/aiq/client.ts';
import { asContactId, type CreateAiqClientOptions } from '../../src/lib/aiq/types.ts';
import { waitFor } from '../helpers/wait-for.ts';

/** How the client fails against the simulator's faults, limits and wrong keys. */

const KEY = 'test-key-4c1d88';
const UID = '777';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function start(clientOptions: Partial<CreateAiqClientOptions> = {}, simOptions: Partial<SimulatorOptions> = {}) {
  const sim = await createSimulator({ port: 0, apiKey: KEY, uid: UID, randomSeed: 3, ...simOptions });
  cleanups.push(() => sim.close());
  const client = createAiqClient({
    baseUrl: sim.url,
    apiKey: KEY,
    uid: UID,
    logger: createLogger({ level: 'silent' }),
    ...clientOptions,
  });
  cleanups.push(() => client.close());
  const contact = sim.control.addPersona({ firstName: 'Fault', mobilePhone: '3125550100', loyalty: true, loyaltyPoints: 50 });
  return { sim, control: sim.control, client, cid: asContactId(contact.contactID) };
}

const adjustmentsIn = (entries: Array<{ route: string }>) => entries.filter((e) => e.route === 'adjustPoints');

describe('rate limits', () => {
  it('a GET answered 429 waits Retry-After, then succeeds', async () => {
    const observed: Array<[number | string, number | undefined]> = [];
    const { control, client, cid } = await start({ onResponse: (e) => observed.push([e.status, e.retryAfterMs]) });
    control.setLimits([{ limit: 1, windowMs: 1_000 }], { retryAfter: true });
    expect(await client.getPersona(cid)).not.toBeNull();
    const started = performance.now();
    expect((await client.getPersona(cid))?.contactID).toBe(cid);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(control.stats().rateLimited).toBe(1);
    expect(control.stats().byRoute.getPersona).toBe(3);
    expect(observed).toEqual([
      [200, undefined],
      [429, 1_000],
      [200, undefined],
    ]);
  });

  it('a non-idempotent call answered 429 is not repeated and was not applied', async () => {
    const { control, client, cid } = await start();
    control.setLimits([{ limit: 1, windowMs: 60_000 }], { retryAfter: true });
    await client.getPersona(cid);
    const err = await client.adjustPoints(cid, 5, 'k-429').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AiqRateLimitedError);
    expect((err as AiqRateLimitedError).retryAfterMs).toBeGreaterThan(0);
    expect(control.stats().byRoute.adjustPoints).toBe(1);
    expect(adjustmentsIn(control.ledger())).toEqual([]);
  });
});

describe('ambiguous failures of adjustPoints', () => {
  it('apply-then-drop yields AiqOutcomeUnknownError and exactly one application', async () => {
    const { control, client, cid } = await start();
    control.setFaults([{ route: 'adjustPoints', kind: 'applyThenDrop', probability: 1 }]);
    await expect(client.adjustPoints(cid, 10, 'k-drop')).rejects.toBeInstanceOf(AiqOutcomeUnknownError);
    const applied = adjustmentsIn(control.ledger());
    expect(applied).toHaveLength(1);
    expect(applied[0]).toMatchObject({ contactID: cid, value: 10, note: 'k-drop' });
    expect(control.persona(cid)?.loyaltyPoints).toBe(60);
  });

  it('apply-then-late past the client timeout yields AiqOutcomeUnknownError, applied once', async () => {
    const { control, client, cid } = await start({ timeoutMs: 300 });
    control.setFaults([{ route: 'adjustPoints', kind: 'applyThenLate', probability: 1, latencyMs: 5_000 }]);
    const started = performance.now();
    await expect(client.adjustPoints(cid, 3, 'k-late')).rejects.toBeInstanceOf(AiqOutcomeUnknownError);
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(adjustmentsIn(control.ledger())).toHaveLength(1);
    expect(control.stats().byRoute.adjustPoints).toBe(1);
  });

  it('error5xx yields AiqServerError, applies nothing and is not retried', async () => {
    const { control, client, cid } = await start();
    control.setFaults([{ route: 'adjustPoints', kind: 'error5xx', probability: 1, status: 503 }]);
    const err = await client.adjustPoints(cid, 10, 'k-503').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AiqServerError);
    expect((err as AiqServerError).status).toBe(503);
    expect(adjustmentsIn(control.ledger())).toEqual([]);
    expect(control.stats().byRoute.adjustPoints).toBe(1);
    expect(control.persona(cid)?.loyaltyPoints).toBe(50);
  });
});

describe('idempotent calls under faults', () => {
  it('a GET is tried getRetries times on 503', async () => {
    const { control, client, cid } = await start({ getRetries: 3 });
    control.setFaults([{ route: 'orders', kind: 'error5xx', probability: 1, status: 503 }]);
    await expect(client.getOrders(cid)).rejects.toBeInstanceOf(AiqServerError);
    expect(control.stats().byRoute.orders).toBe(3);
  });

  it('an idempotent write whose connection drops is tried again', async () => {
    const { control, client, cid } = await start({ getRetries: 2 });
    control.setFaults([{ route: 'writeOverride', kind: 'applyThenDrop', probability: 1 }]);
    await expect(client.writeOverride(cid, { firstName: 'Again' })).rejects.toBeInstanceOf(AiqOutcomeUnknownError);
    expect(control.stats().byRoute.writeOverride).toBe(2);
    expect(await client.readOverride(cid)).toMatchObject({ firstName: 'Again' });
  });
});

describe('auth, connection and abort', () => {
  it('a wrong key yields AiqAuthError after exactly one request, without the key in the error', async () => {
    const { sim, control, cid } = await start();
    const wrong = createAiqClient({ baseUrl: sim.url, apiKey: 'wrong-key-5e6f7a', uid: UID, logger: createLogger({ level: 'silent' }) });
    cleanups.push(() => wrong.close());
    const err = await wrong.getPersona(cid).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AiqAuthError);
    expect((err as AiqAuthError).status).toBe(403);
    expect(JSON.stringify((err as AiqAuthError).toJSON())).not.toContain('wrong-key-5e6f7a');
    expect(control.stats().requests).toBe(1);
  });

  it('a closed port yields AiqNotSentError', async () => {
    const sim = await createSimulator({ port: 0, apiKey: KEY, uid: UID });
    const url = sim.url;
    await sim.close();
    const client = createAiqClient({ baseUrl: url, apiKey: KEY, uid: UID, logger: createLogger({ level: 'silent' }) });
    cleanups.push(() => client.close());
    await expect(client.adjustPoints(asContactId('a'.repeat(32)), 1, 'k')).rejects.toBeInstanceOf(AiqNotSentError);
    await expect(client.getOrders(asContactId('a'.repeat(32)))).rejects.toBeInstanceOf(AiqNotSentError);
  });

  it('an abort through the signal ends a slow call with AbortedError', async () => {
    const { control, client, cid } = await start();
    control.setFaults([{ route: 'orders', kind: 'latency', probability: 1, latencyMs: 10_000 }]);
    const ac = new AbortController();
    const started = performance.now();
    const call = client.getOrders(cid, { signal: ac.signal }).catch((e: unknown) => e);
    await waitFor(() => control.stats().byRoute.orders === 1);
    ac.abort();
    expect(await call).toBeInstanceOf(AbortedError);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(control.stats().byRoute.orders).toBe(1);
  });
});
