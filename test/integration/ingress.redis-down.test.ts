import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/lib/config.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { findExecutable, startRedisServer, type StartedRedis } from '../../src/lib/redis-locator.ts';
import { createIngress } from '../../src/producers/ingress/index.ts';
import { testPrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait-for.ts';

const TOKEN = 'pos-token-0123456789';
const SECRET = 'generic-secret-0123';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('ingress while Redis is down', () => {
  it('answers 503 and enqueues nothing while its Redis is down, and 202 again once it is back', async () => {
    const binary = await findExecutable('redis-server', process.env.PATH);
    expect(binary, 'redis-server must be on the PATH for this test').not.toBeNull();
    // Append-only persistence in a directory of ours, so the data outlives the restart below.
    const dir = await mkdtemp(join(tmpdir(), 'aiq-sync-ingress-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const serverOptions = { binary: binary!, dir, args: ['--appendonly', 'yes', '--appendfsync', 'always'] };
    let redis: StartedRedis = await startRedisServer(serverOptions);
    cleanups.push(() => redis.stop());
    const port = redis.port;

    const config = loadConfig({ REDIS_URL: redis.url, SYNC_PREFIX: testPrefix(), INGRESS_TOKENS: TOKEN, WEBHOOK_SECRET: SECRET, LOG_LEVEL: 'silent' }, { roles: ['ingress'] });
    const logger = createLogger({ level: 'silent' });
    const app = createApp({ config, logger });
    await app.start();
    cleanups.push(() => app.close({ force: true }));
    const ingress = createIngress({ producer: app.producer, redis: app.redis, config, logger });
    cleanups.push(() => ingress.close());

    const sale = (id: string) => ({ source: 'treez', storeId: '1', transactionId: id, occurredAt: '2026-11-28T10:00:00Z', customer: { srcID: 'c-1' }, total: 3 });
    const postPos = (id: string) =>
      ingress.inject({ method: 'POST', url: '/v1/pos/transactions', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, payload: sale(id) });
    const postOptIn = (eventId: string) => {
      const body = JSON.stringify({ eventId, phone: '4155550177', source: 'web' });
      const ts = String(Math.floor(Date.now() / 1000));
      const sig = createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex');
      return ingress.inject({ method: 'POST', url: '/v1/webhooks/optin', headers: { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': `sha256=${sig}` }, payload: body });
    };

    expect((await postPos('before')).statusCode).toBe(202);
    expect((await ingress.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

    await redis.stop();
    await waitFor(() => app.redis.status !== 'ready', { message: 'the producer connection notices Redis is gone' });
    const down = await postPos('while-down');
    expect([down.statusCode, down.json()]).toEqual([503, { error: 'unavailable' }]);
    const downOptIn = await postOptIn('while-down');
    expect([downOptIn.statusCode, downOptIn.json()]).toEqual([503, { error: 'unavailable' }]);
    const notReady = await ingress.inject({ method: 'GET', url: '/readyz' });
    expect([notReady.statusCode, notReady.json()]).toEqual([503, { error: 'unavailable' }]);
    expect((await ingress.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    // Validation still comes first: a bad request is a 400 whatever the state of Redis.
    const invalid = await ingress.inject({ method: 'POST', url: '/v1/pos/transactions', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, payload: { ...sale('bad'), total: -1 } });
    expect(invalid.statusCode).toBe(400);

    redis = await startRedisServer({ ...serverOptions, port });
    await waitFor(async () => (await ingress.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, { timeoutMs: 15_000, message: '/readyz is 200 again' });
    const after = await postPos('after');
    expect(after.statusCode).toBe(202);
    expect((await postOptIn('after')).statusCode).toBe(202);
    // What was accepted is there; nothing answered 503 was enqueued.
    const jobs = await app.queues.points.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.map((j) => (j.data as { transactionId: string }).transactionId).sort()).toEqual(['after', 'before']);
    expect(await app.queues.optin.getJobCounts()).toMatchObject({ waiting: 1 });
  });
});
