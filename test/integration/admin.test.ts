import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.ts';
import { createMetrics } from '../../src/lib/metrics.ts';
import type { DeadJob } from '../../src/producers/dlq.ts';
import { createAdminRoutes } from '../../src/producers/admin/index.ts';
import { createIngress, type IngressApp } from '../../src/producers/ingress/index.ts';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait-for.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const bearer = { authorization: `Bearer ${ADMIN}` };
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

let pipeline: TestPipeline | undefined;
let ingress: IngressApp | undefined;
afterEach(async () => {
  await ingress?.close();
  await pipeline?.close();
  ingress = undefined;
  pipeline = undefined;
});

async function start(env: Record<string, string> = {}): Promise<{ p: TestPipeline; app: IngressApp }> {
  pipeline = await startPipeline({ env });
  const p = pipeline;
  ingress = createIngress({
    producer: p.app.producer,
    redis: p.app.redis,
    config: p.app.config,
    logger: createLogger({ level: 'silent' }),
    registerExtra: createAdminRoutes({ config: p.app.config, queues: p.app.queues, ledger: p.app.ledger, redis: p.app.redis, metrics: createMetrics({ defaultMetrics: false }) }),
  });
  await ingress.ready();
  return { p, app: ingress };
}

const sale = (transactionId: string, phone: string, extra: Record<string, unknown> = {}) => ({
  source: 'treez',
  storeId: '12',
  transactionId,
  type: 'sale' as const,
  occurredAt: '2026-11-28T10:00:00Z',
  customer: { phone },
  total: 30,
  ...extra,
});

describe('admin routes', () => {
  it('are off (404) without ADMIN_TOKEN, whatever the request carries, while /metrics answers', async () => {
    const { app } = await start();
    for (const url of ['/admin/queues', '/admin/queues/api/queues', '/v1/admin/dlq']) {
      const res = await app.inject({ method: 'GET', url, headers: bearer });
      expect(res.statusCode, url).toBe(404);
      expect(res.json()).toEqual({ error: 'not_found' });
    }
    expect((await app.inject({ method: 'POST', url: '/v1/admin/dlq/replay', headers: bearer, payload: {} })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });

  it('refuse a missing or wrong token with 401 and a Basic challenge, and do nothing', async () => {
    const { app } = await start({ ADMIN_TOKEN: ADMIN });
    const attempts = [
      {},
      { authorization: 'Bearer wrong-token-0123456789abcdef' },
      { authorization: `Bearer ${ADMIN}x` },
      basic('admin', 'wrong'),
      { authorization: `Token ${ADMIN}` },
    ];
    for (const headers of attempts) {
      for (const [method, url] of [['GET', '/admin/queues'], ['GET', '/admin/queues/api/queues'], ['GET', '/v1/admin/dlq'], ['POST', '/v1/admin/dlq/replay']] as const) {
        const res = await app.inject({ method, url, headers, ...(method === 'POST' ? { payload: {} } : {}) });
        expect(res.statusCode, `${method} ${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.json()).toEqual({ error: 'unauthorized' });
        expect(res.headers['www-authenticate']).toBe('Basic realm="aiq-sync admin", charset="UTF-8"');
      }
    }
  });

  it('serves Bull Board read-only at /admin/queues, with every queue, to the token as bearer or Basic-auth password', async () => {
    const { app } = await start({ ADMIN_TOKEN: ADMIN });
    const page = await app.inject({ method: 'GET', url: '/admin/queues', headers: basic('anyone', ADMIN) });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    // The page's scripts load from behind the same check.
    const script = /<script defer src="(static\/js\/main\.[^"]+)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    expect((await app.inject({ method: 'GET', url: `/admin/queues/${script!}`, headers: bearer })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/admin/queues/${script!}` })).statusCode).toBe(401);
    const api = await app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: bearer });
    expect(api.statusCode).toBe(200);
    const { queues } = api.json<{ queues: Array<{ name: string; readOnlyMode: boolean }> }>();
    expect(queues.map((q) => q.name).sort()).toEqual(['attributes', 'backfill', 'contacts', 'optin', 'points']);
    expect(queues.every((q) => q.readOnlyMode)).toBe(true);
    const retry = await app.inject({ method: 'PUT', url: '/admin/queues/api/queues/points/retry/failed', headers: bearer });
    expect(retry.statusCode).toBe(405);
  });

  it('lets the dashboard act on jobs with ADMIN_READ_WRITE=1', async () => {
    const { app } = await start({ ADMIN_TOKEN: ADMIN, ADMIN_READ_WRITE: '1' });
    const api = await app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: bearer });
    expect(api.json<{ queues: Array<{ readOnlyMode: boolean }> }>().queues.every((q) => !q.readOnlyMode)).toBe(true);
    const retry = await app.inject({ method: 'PUT', url: '/admin/queues/api/queues/points/retry/failed', headers: bearer });
    expect(retry.statusCode).toBe(200);
  });

  it('lists dead jobs by queue, code and time, and replays the matching ones, which then apply once', async () => {
    // A customer AIQ does not know is dead at once (no wait); an unknown account too.
    const { p, app } = await start({ ADMIN_TOKEN: ADMIN, CONTACT_RETRY_HOURS: '0' });
    const started = Date.now();
    const [missing] = await p.app.producer.enqueuePos([sale('D-1', '4155550801')]);
    const [unknownAccount] = await p.app.producer.enqueuePos([sale('D-2', '4155550802', { account: 'nosuch' })]);
    await waitFor(async () => (await p.app.events.readAll()).filter((e) => e.kind === 'job.dead').length === 2, { timeoutMs: 20_000 });
    await waitFor(async () => (await p.app.queues.points.getJobCounts('failed')).failed === 2);

    const list = async (query: string) => {
      const res = await app.inject({ method: 'GET', url: `/v1/admin/dlq${query}`, headers: bearer });
      expect(res.statusCode).toBe(200);
      return res.json<{ jobs: DeadJob[] }>().jobs;
    };
    expect((await list('')).map((j) => j.jobId).sort()).toEqual([missing!.jobId, unknownAccount!.jobId].sort());
    expect(await list('?code=AIQ_ERR_CONTACT_NOT_FOUND')).toEqual([
      expect.objectContaining({ queue: 'points', jobId: missing!.jobId, key: missing!.idempotencyKey, code: 'AIQ_ERR_CONTACT_NOT_FOUND' }),
    ]);
    expect(await list('?queue=points&code=AIQ_ERR_CONFIG&limit=5')).toEqual([expect.objectContaining({ jobId: unknownAccount!.jobId })]);
    expect(await list('?queue=optin')).toEqual([]);
    expect(await list(`?since=${new Date(started + 3_600_000).toISOString()}`)).toEqual([]);
    expect(await list(`?since=${started - 1_000}`)).toHaveLength(2);
    expect(await list('?limit=1')).toHaveLength(1);

    // The customer reaches AIQ; only the matching job is replayed.
    const persona = p.sim.control.addPersona({ mobilePhone: '4155550801', loyaltyPoints: 0 });
    const replay = await app.inject({ method: 'POST', url: '/v1/admin/dlq/replay', headers: basic('ops', ADMIN), payload: { queue: 'points', code: 'AIQ_ERR_CONTACT_NOT_FOUND' } });
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toEqual({ replayed: 1, jobs: [expect.objectContaining({ jobId: missing!.jobId, code: 'AIQ_ERR_CONTACT_NOT_FOUND' })] });
    const applied = await waitFor(async () => (await p.app.events.readAll()).find((e) => e.kind === 'points.applied'), { timeoutMs: 20_000 });
    expect(applied).toMatchObject({ key: missing!.idempotencyKey, contactID: persona.contactID });
    expect(p.sim.control.persona(persona.contactID)!.loyaltyPoints).toBe(30);
    expect((await list('')).map((j) => j.jobId)).toEqual([unknownAccount!.jobId]);

    // By job ID; a job that is not dead is not replayed.
    const again = await app.inject({ method: 'POST', url: '/v1/admin/dlq/replay', headers: bearer, payload: { jobId: missing!.jobId } });
    expect(again.json()).toEqual({ replayed: 0, jobs: [] });
    expect(p.sim.control.ledger().filter((l) => l.route === 'adjustPoints')).toHaveLength(1);
  });

  it('answers 400 invalid_request naming the field for a bad filter or body, and replays nothing', async () => {
    const { p, app } = await start({ ADMIN_TOKEN: ADMIN, CONTACT_RETRY_HOURS: '0' });
    await p.app.producer.enqueuePos([sale('B-1', '4155550803', { account: 'nosuch' })]);
    await waitFor(async () => (await p.app.queues.points.getJobCounts('failed')).failed === 1, { timeoutMs: 20_000 });

    const badQueries: Array<[string, string]> = [
      ['?queue=nope', 'queue'],
      ['?code=auth', 'code'],
      ['?since=yesterday', 'since'],
      ['?since=2026-13-45', 'since'],
      ['?limit=0', 'limit'],
      ['?limit=5000', 'limit'],
      ['?limit=two', 'limit'],
      ['?queue=points&queue=optin', 'queue'],
      ['?jobs=1', ''],
    ];
    for (const [query, path] of badQueries) {
      const res = await app.inject({ method: 'GET', url: `/v1/admin/dlq${query}`, headers: bearer });
      expect(res.statusCode, query).toBe(400);
      const body = res.json<{ error: string; issues: Array<{ path: string; message: string }> }>();
      expect(body.error).toBe('invalid_request');
      expect(body.issues.map((i) => i.path), query).toContain(path);
      expect(body.issues.every((i) => typeof i.message === 'string' && i.message.length > 0)).toBe(true);
    }

    const badBodies: Array<[unknown, string]> = [
      [[], ''],
      [{ queue: 'nope' }, 'queue'],
      [{ since: 'last week' }, 'since'],
      [{ since: -5 }, 'since'],
      [{ jobId: '' }, 'jobId'],
      [{ code: 'AIQ_ERR_CONFIG', everything: true }, ''],
    ];
    for (const [payload, path] of badBodies) {
      const res = await app.inject({ method: 'POST', url: '/v1/admin/dlq/replay', headers: bearer, payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json<{ error: string; issues: Array<{ path: string }> }>()).toMatchObject({ error: 'invalid_request', issues: expect.arrayContaining([expect.objectContaining({ path })]) });
    }
    const noBody = await app.inject({ method: 'POST', url: '/v1/admin/dlq/replay', headers: bearer });
    expect(noBody.statusCode).toBe(400);
    expect((await p.app.queues.points.getJobCounts('failed')).failed).toBe(1);
  });
});
