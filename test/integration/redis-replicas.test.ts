import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/lib/config.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { findExecutable, startRedisServer, type StartedRedis } from '../../src/lib/redis-locator.ts';
import { createConfirmWrites } from '../../src/lib/replicas.ts';
import { createIngress, type IngressApp } from '../../src/producers/ingress/index.ts';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.ts';
import { createTestRedis, testPrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait-for.ts';

// A private primary and its replica. SIGSTOP on the replica stops it acknowledging replication
// (the primary still counts it as connected), which is what a lagging or failing replica does.
let primary: StartedRedis;
let replica: StartedRedis;
let replicaClient: Redis;

beforeAll(async () => {
  const binary = await findExecutable('redis-server', process.env.PATH);
  if (!binary) throw new Error('redis-server is not on the PATH');
  primary = await startRedisServer({ binary });
  replica = await startRedisServer({ binary, args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  replicaClient = new Redis(replica.url, { maxRetriesPerRequest: null });
  await waitFor(async () => /master_link_status:up/.test(await replicaClient.info('replication')), { timeoutMs: 10_000, message: 'the replica is in sync' });
});

afterAll(async () => {
  replica?.process.kill('SIGCONT');
  await replicaClient?.quit();
  await replica?.stop();
  await primary?.stop();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  replica.process.kill('SIGCONT');
  while (cleanups.length > 0) await cleanups.pop()!();
});

const TOKEN = 'pos-token-0123456789';
const sale = (id: string, customer: Record<string, string> = { phone: '4155550101' }) => ({
  source: 'treez',
  storeId: '12',
  transactionId: id,
  type: 'sale' as const,
  occurredAt: '2026-11-28T10:00:00Z',
  customer,
  total: 20,
});

describe('REDIS_WAIT_REPLICAS', () => {
  it('waits for the replicas attached, at most the number configured, and for none when none is (a promoted replica)', async () => {
    const client = new Redis(primary.url, { maxRetriesPerRequest: null });
    cleanups.push(() => client.quit());
    await client.set('k', '1');
    expect(await createConfirmWrites({ redis: client, prefix: '{p}', replicas: 3, timeoutMs: 300 })!()).toBe(true);
    replica.process.kill('SIGSTOP');
    await client.set('k', '2');
    expect(await createConfirmWrites({ redis: client, prefix: '{p}', replicas: 3, timeoutMs: 300 })!()).toBe(false);
    replica.process.kill('SIGCONT');
    // A primary without replicas (the test Redis): nothing to fail over to, nothing to wait for.
    const alone = createTestRedis();
    cleanups.push(() => alone.quit());
    expect(await alone.info('replication')).toMatch(/connected_slaves:0/);
    expect(await createConfirmWrites({ redis: alone, prefix: '{p}', replicas: 1, timeoutMs: 5_000 })!()).toBe(true);
    expect(createConfirmWrites({ redis: alone, prefix: '{p}', replicas: 0, timeoutMs: 5_000 })).toBeUndefined();
  });

  it('has the ingress answer 503 while the replica does not confirm, and 2xx once it does, with the request on the replica', async () => {
    const prefix = testPrefix();
    const config = loadConfig(
      { REDIS_URL: primary.url, SYNC_PREFIX: prefix, INGRESS_TOKENS: TOKEN, LOG_LEVEL: 'silent', REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '300' },
      { roles: ['ingress'] },
    );
    const logger = createLogger({ level: 'silent' });
    const app = createApp({ config, logger });
    await app.start();
    const ingress: IngressApp = createIngress({ producer: app.producer, redis: app.redis, config, logger });
    await ingress.ready();
    cleanups.push(async () => {
      await ingress.close();
      await app.close();
    });
    const post = (id: string) =>
      ingress.inject({ method: 'POST', url: '/v1/pos/transactions', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, payload: JSON.stringify(sale(id)) });
    const ledgerKeyOnReplica = (id: string) => replicaClient.exists(`${prefix}:ledger:pos:treez:12:${id}:sale`);

    const confirmed = await post('R-1');
    expect(confirmed.statusCode).toBe(202);
    expect(await ledgerKeyOnReplica('R-1')).toBe(1);

    replica.process.kill('SIGSTOP');
    const refused = await post('R-2');
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toEqual({ error: 'unavailable' });

    replica.process.kill('SIGCONT');
    // The redelivery: stored by the first delivery, acknowledged now that the replica has it.
    const retried = await post('R-2');
    expect(retried.statusCode).toBe(202);
    expect(retried.json().results[0]).toMatchObject({ transactionId: 'R-2', status: 'duplicate' });
    expect(await ledgerKeyOnReplica('R-2')).toBe(1);
    expect(await app.queues.points.getJob(retried.json().results[0].jobId)).toBeDefined();
  });

  it('has a worker call AIQ only once its claim is on the replica, and credit the sale once', async () => {
    const delays: string[] = [];
    const pipeline: TestPipeline = await startPipeline({
      env: { REDIS_URL: primary.url, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '200' },
      queues: ['points'],
      observers: { jobs: { onDelay: (_queue, reason) => delays.push(reason) } },
    });
    cleanups.push(() => pipeline.close());
    const contactID = pipeline.sim.control.addPersona({ mobilePhone: '4155550911', loyaltyPoints: 0 }).contactID;
    // The sale is enqueued by a producer that does not wait (the worker's wait is under test).
    const producerApp: App = createApp({ config: loadConfig({ ...pipeline.env, REDIS_WAIT_REPLICAS: '0' }), logger: createLogger({ level: 'silent' }) });
    await producerApp.start();
    cleanups.push(() => producerApp.close());

    replica.process.kill('SIGSTOP');
    const [r] = await producerApp.producer.enqueuePos([sale('W-1', { contactID })]);
    await waitFor(() => delays.filter((d) => d === 'claim not confirmed by the Redis replicas').length >= 2, { timeoutMs: 15_000, message: 'the worker waited twice for the replica' });
    expect(pipeline.sim.control.stats().byRoute.adjustPoints ?? 0).toBe(0);
    // Undone: the key is not left pending, so the next attempt needs no reconciliation.
    expect((await pipeline.app.ledger.get(r!.idempotencyKey))?.state).toBe('idle');

    replica.process.kill('SIGCONT');
    const done = await waitFor(async () => (await pipeline.app.events.readAll()).find((e) => e.key === r!.idempotencyKey), { timeoutMs: 15_000 });
    expect(done).toMatchObject({ kind: 'points.applied' });
    expect(done?.detail).not.toHaveProperty('reconciled', true);
    expect(pipeline.sim.control.ledger().filter((l) => l.route === 'adjustPoints')).toEqual([expect.objectContaining({ note: r!.idempotencyKey, value: 20 })]);
  });
});
