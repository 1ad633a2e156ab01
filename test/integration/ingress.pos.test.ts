import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/lib/config.ts';
import { createLogger, type Logger } from '../../src/lib/logger.ts';
import { createIngress, startIngress, type IngressApp, type RunningIngress } from '../../src/producers/ingress/index.ts';
import { parsePosBody } from '../../src/producers/schemas.ts';
import { createTestRedis, deletePrefix, testPrefix, testRedisUrl } from '../helpers/redis.ts';

const TOKEN = 'pos-token-0123456789';
const OTHER_TOKEN = 'api-token-9876543210';
const MiB = 1_048_576;

interface Rig {
  app: App;
  ingress: IngressApp;
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A real app (producer, queues, Redis) on a fresh prefix, without workers, and its ingress. */
async function startRig(options: { env?: Record<string, string>; logger?: Logger; registerExtra?: (app: IngressApp) => void | Promise<void> } = {}): Promise<Rig> {
  const prefix = testPrefix();
  const config = loadConfig({ REDIS_URL: testRedisUrl(), SYNC_PREFIX: prefix, INGRESS_TOKENS: `${TOKEN}, ${OTHER_TOKEN}`, LOG_LEVEL: 'silent', ...options.env }, { roles: ['ingress'] });
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const app = createApp({ config, logger });
  await app.start();
  const ingress = createIngress({ producer: app.producer, redis: app.redis, config, logger, ...(options.registerExtra ? { registerExtra: options.registerExtra } : {}) });
  await ingress.ready();
  const rig = {
    app,
    ingress,
    async close() {
      await ingress.close();
      await app.close();
      const redis = createTestRedis();
      await deletePrefix(redis, prefix);
      await redis.quit();
    },
  };
  cleanups.push(() => rig.close());
  return rig;
}

function sale(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { source: 'treez', storeId: '12', transactionId: id, occurredAt: '2026-11-28T10:00:00Z', customer: { phone: '(415) 555-0101' }, total: 42.5, ...extra };
}

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json', ...auth };

async function postPos(rig: Rig, body: unknown, headers: Record<string, string> = json) {
  return rig.ingress.inject({ method: 'POST', url: '/v1/pos/transactions', headers, payload: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function pointsJobs(rig: Rig): Promise<number> {
  const counts = await rig.app.queues.points.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe('POST /v1/pos/transactions', () => {
  it('enqueues one transaction and answers 202 with its key, job ID and status', async () => {
    const rig = await startRig();
    const res = await postPos(rig, sale('T-1001'));
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toEqual({ results: [{ transactionId: 'T-1001', idempotencyKey: 'pos:treez:12:T-1001:sale', jobId: expect.stringMatching(/^points-/), status: 'queued' }] });
    const job = await rig.app.queues.points.getJob(body.results[0].jobId);
    expect(job?.data).toMatchObject({ source: 'treez', storeId: '12', transactionId: 'T-1001', type: 'sale', customer: { phone: '4155550101' }, total: 42.5 });
  });

  it('enqueues a batch and answers duplicate for a transaction it has already taken', async () => {
    const rig = await startRig();
    const batch = { transactions: [sale('T-1'), sale('T-2', { type: 'return', originalTransactionId: 'T-0', total: 5 }), sale('T-3', { points: 40 })] };
    const first = await postPos(rig, batch);
    expect(first.statusCode).toBe(202);
    expect(first.json().results.map((r: { transactionId: string; status: string }) => [r.transactionId, r.status])).toEqual([
      ['T-1', 'queued'],
      ['T-2', 'queued'],
      ['T-3', 'queued'],
    ]);
    const again = await postPos(rig, sale('T-2', { type: 'return', originalTransactionId: 'T-0', total: 5 }));
    expect(again.json().results).toEqual([{ transactionId: 'T-2', idempotencyKey: 'pos:treez:12:T-2:return', jobId: first.json().results[1].jobId, status: 'duplicate' }]);
    expect(await pointsJobs(rig)).toBe(3);
  });

  it('enqueues a redelivery whose first delivery was recorded but never queued (a producer killed between the two writes)', async () => {
    const rig = await startRig();
    // What a SIGKILL between the ledger's accept and the queue add leaves behind: the key, no job.
    expect(await rig.app.ledger.acceptMany(['pos:treez:12:K-1:sale'])).toEqual([true]);
    expect(await pointsJobs(rig)).toBe(0);
    const res = await postPos(rig, sale('K-1'));
    expect(res.statusCode).toBe(202);
    expect(res.json().results).toEqual([{ transactionId: 'K-1', idempotencyKey: 'pos:treez:12:K-1:sale', jobId: expect.stringMatching(/^points-/), status: 'queued' }]);
    expect((await rig.app.queues.points.getJob(res.json().results[0].jobId))?.data).toMatchObject({ transactionId: 'K-1' });
    // Once the job exists, the next redelivery is a duplicate again.
    expect((await postPos(rig, sale('K-1'))).json().results[0].status).toBe('duplicate');
    expect(await pointsJobs(rig)).toBe(1);
  });

  it('has the producer refuse an invalid transaction that did not come out of the schema, even a copy of one that did', async () => {
    const rig = await startRig();
    const parsed = parsePosBody(sale('P-1'));
    if (!parsed.ok) throw new Error('the sale should parse');
    const copy = { ...parsed.value[0]!, total: -5 };
    await expect(rig.app.producer.enqueuePos([copy])).rejects.toMatchObject({ code: 'AIQ_ERR_PAYLOAD_INVALID', issues: [{ path: 'total', message: 'must be at least 0' }] });
    await expect(rig.app.producer.enqueuePos([sale('P-2', { customer: { phone: '12' } }) as never])).rejects.toMatchObject({ code: 'AIQ_ERR_PAYLOAD_INVALID' });
    expect(await pointsJobs(rig)).toBe(0);
    // The schema's own output goes through (and is not parsed twice).
    expect(await rig.app.producer.enqueuePos(parsed.value)).toEqual([expect.objectContaining({ transactionId: 'P-1', status: 'queued' })]);
    expect(await pointsJobs(rig)).toBe(1);
  });

  it('refuses a whole batch when one transaction is invalid, naming its field, and enqueues none', async () => {
    const rig = await startRig();
    const transactions = [sale('B-0'), sale('B-1'), sale('B-2'), sale('B-3', { customer: { phone: '415555010' } }), sale('B-4')];
    const res = await postPos(rig, { transactions });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'invalid_request', issues: [{ path: 'transactions.3.customer.phone', message: 'expected a 10-digit US phone number' }] });
    const three = await postPos(rig, { transactions: [sale('C-0'), sale('C-1', { total: -1 }), sale('C-2')] });
    expect(three.statusCode).toBe(400);
    expect(three.json().issues).toEqual([{ path: 'transactions.1.total', message: 'must be at least 0' }]);
    expect(await pointsJobs(rig)).toBe(0);
    expect(await rig.app.queues.points.getJobCounts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 });
  });

  it.each([
    ['a source with upper case', sale('V-1', { source: 'Treez' }), 'source', 'expected 1 to 32 of a-z, 0-9, _ and -'],
    ['a transactionId of 129 characters', sale('x'.repeat(129)), 'transactionId', 'at most 128 characters'],
    ['a zero-width character in storeId', sale('V-3', { storeId: '1\u200b2' }), 'storeId', 'control, zero-width and bidirectional characters are not allowed'],
    ['a phone with 9 digits', sale('V-4', { customer: { phone: '415555010' } }), 'customer.phone', 'expected a 10-digit US phone number'],
    ['a total of -1', sale('V-5', { total: -1 }), 'total', 'must be at least 0'],
    ['a total of 1e7', sale('V-6', { total: 1e7 }), 'total', 'at most 1,000,000'],
    ['points of 1.5', sale('V-7', { points: 1.5 }), 'points', 'expected a whole number'],
    ['an occurredAt that is not a date', sale('V-8', { occurredAt: 'yesterday' }), 'occurredAt', 'expected an ISO-8601 date-time such as 2026-11-28T10:00:00Z'],
    ['a return without originalTransactionId', sale('V-9', { type: 'return' }), 'originalTransactionId', 'required for a return'],
    ['a customer without any identifier', sale('V-10', { customer: {} }), 'customer', 'at least one of contactID, srcID, phone, email is required'],
    ['a batch of 501', { transactions: Array.from({ length: 501 }, (_, i) => sale(`V-11-${i}`)) }, 'transactions', 'at most 500 transactions'],
    ['an empty batch', { transactions: [] }, 'transactions', 'at least 1 transaction'],
    ['a bare array', [sale('V-13')], '', 'expected an object: a transaction or {"transactions": [...]}, not an array'],
    ['an unknown key', sale('V-14', { colour: 'red' }), '', 'Unrecognized key: "colour"'],
    ['an unknown key in a batch', { transactions: [sale('V-15', { colour: 'red' })] }, 'transactions.0', 'Unrecognized key: "colour"'],
  ])('answers 400 naming the field for %s', async (_name, body, path, message) => {
    const rig = await startRig();
    const res = await postPos(rig, body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'invalid_request', issues: [{ path, message }] });
    expect(await pointsJobs(rig)).toBe(0);
  });

  it('answers 400 with a clear message for malformed JSON, an empty body and invalid UTF-8', async () => {
    const rig = await startRig();
    const malformed = await postPos(rig, '{"source": "treez",');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toEqual({ error: 'invalid_request', issues: [{ path: '', message: expect.stringMatching(/^malformed JSON: /) }] });
    const empty = await rig.ingress.inject({ method: 'POST', url: '/v1/pos/transactions', headers: json, payload: '' });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().issues[0].path).toBe('');
    const latin1 = await rig.ingress.inject({ method: 'POST', url: '/v1/pos/transactions', headers: json, payload: Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d]) });
    expect(latin1.statusCode).toBe(400);
    expect(latin1.json().issues).toEqual([{ path: '', message: 'malformed JSON: the body is not valid UTF-8' }]);
    expect(await pointsJobs(rig)).toBe(0);
  });

  it('refuses __proto__ and constructor.prototype keys with 400 naming where they are', async () => {
    const rig = await startRig();
    const proto = await postPos(rig, '{"transactions":[{"customer":{"__proto__":{"isAdmin":true}}}]}');
    expect(proto.statusCode).toBe(400);
    expect(proto.json()).toEqual({ error: 'invalid_request', issues: [{ path: '', message: 'malformed JSON: forbidden key "transactions.0.customer.__proto__" (prototype pollution)' }] });
    const ctor = await postPos(rig, '{"constructor":{"prototype":{"isAdmin":true}}}');
    expect(ctor.statusCode).toBe(400);
    expect(ctor.json().issues[0].message).toBe('malformed JSON: forbidden key "constructor.prototype" (prototype pollution)');
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(await pointsJobs(rig)).toBe(0);
  });

  it('answers 401 without a bearer token, with an unknown one or another scheme, and enqueues nothing', async () => {
    const rig = await startRig();
    const body = JSON.stringify(sale('A-1'));
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }, { authorization: 'Bearer' }]) {
      const res = await rig.ingress.inject({ method: 'POST', url: '/v1/pos/transactions', headers: { 'content-type': 'application/json', ...headers }, payload: body });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: 'unauthorized' });
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
    // Authentication comes before the body: an unauthenticated malformed body is a 401, not a 400.
    const unauthBad = await rig.ingress.inject({ method: 'POST', url: '/v1/pos/transactions', headers: { 'content-type': 'application/json' }, payload: '{' });
    expect(unauthBad.statusCode).toBe(401);
    expect(await pointsJobs(rig)).toBe(0);
    const second = await postPos(rig, sale('A-2'), { 'content-type': 'application/json', authorization: `bearer ${OTHER_TOKEN}` });
    expect(second.statusCode).toBe(202);
  });

  it('answers 413 from Content-Length over 1 MiB before reading, and accepts a body of exactly 1 MiB', async () => {
    const rig = await startRig();
    const big = JSON.stringify(sale('L-1')).padEnd(MiB + 1, ' ');
    const tooLarge = await postPos(rig, big);
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json()).toEqual({ error: 'payload_too_large' });
    expect(tooLarge.headers.connection).toBe('close');
    const exact = await postPos(rig, JSON.stringify(sale('L-2')).padEnd(MiB, ' '));
    expect(exact.statusCode).toBe(202);
    expect(await pointsJobs(rig)).toBe(1);
  });

  it('answers 415 for any content type but JSON, and accepts JSON with a charset', async () => {
    const rig = await startRig();
    const body = JSON.stringify(sale('M-1'));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', 'application/jsonp']) {
      const res = await postPos(rig, body, { ...auth, 'content-type': type });
      expect(res.statusCode, type).toBe(415);
      expect(res.json()).toEqual({ error: 'unsupported_media_type' });
    }
    const noType = await rig.ingress.inject({ method: 'POST', url: '/v1/pos/transactions', headers: auth, payload: Buffer.from(body) });
    expect(noType.statusCode).toBe(415);
    expect(await pointsJobs(rig)).toBe(0);
    const charset = await postPos(rig, body, { ...auth, 'content-type': 'application/json; charset=utf-8' });
    expect(charset.statusCode).toBe(202);
  });
});

describe('POST /v1/contacts/attributes', () => {
  it('enqueues an attribute update, answers duplicate for the same version, and 400 naming a bad field', async () => {
    const rig = await startRig();
    const update = { customer: { srcID: 'C-77' }, attributes: { tier: 'gold', visits: 12 }, version: '2026-11-28T10:00:00Z' };
    const res = await rig.ingress.inject({ method: 'POST', url: '/v1/contacts/attributes', headers: json, payload: update });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toEqual({ idempotencyKey: 'attributes:C-77:2026-11-28T10:00:00Z', jobId: expect.stringMatching(/^attributes-/), status: 'queued' });
    expect((await rig.app.queues.attributes.getJob(body.jobId))?.data).toMatchObject(update);
    const again = await rig.ingress.inject({ method: 'POST', url: '/v1/contacts/attributes', headers: json, payload: update });
    expect(again.json()).toMatchObject({ jobId: body.jobId, status: 'duplicate' });
    const bad = await rig.ingress.inject({ method: 'POST', url: '/v1/contacts/attributes', headers: json, payload: { customer: { email: 'not-an-email' }, attributes: {} } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: 'invalid_request', issues: [{ path: 'customer.email', message: 'expected an email address' }] });
    const unauth = await rig.ingress.inject({ method: 'POST', url: '/v1/contacts/attributes', headers: { 'content-type': 'application/json' }, payload: update });
    expect(unauth.statusCode).toBe(401);
    expect(await rig.app.queues.attributes.getJobCounts()).toMatchObject({ waiting: 1 });
  });
});

describe('health, unknown routes and extensions', () => {
  it('answers /healthz and /readyz 200 while Redis answers, and 404 for unknown routes and unconfigured webhooks', async () => {
    const rig = await startRig();
    expect((await rig.ingress.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await rig.ingress.inject({ method: 'GET', url: '/readyz' });
    expect([ready.statusCode, ready.json()]).toEqual([200, { status: 'ready' }]);
    for (const url of ['/nope', '/v1/webhooks/shopify', '/v1/webhooks/woocommerce', '/v1/webhooks/optin']) {
      const res = await rig.ingress.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{}' });
      expect([res.statusCode, res.json()]).toEqual([404, { error: 'not_found' }]);
    }
    const wrongMethod = await rig.ingress.inject({ method: 'GET', url: '/v1/pos/transactions', headers: auth });
    expect(wrongMethod.statusCode).toBe(404);
  });

  it('runs registerExtra in the root scope: its hooks see every route, and an unexpected error is a 500 that is logged', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const seen: string[] = [];
    const rig = await startRig({
      logger: createLogger({ level: 'error', destination: sink }),
      registerExtra: (app) => {
        app.addHook('onResponse', async (request, reply) => {
          seen.push(`${request.routeOptions.url ?? '-'} ${reply.statusCode}`);
        });
        app.get('/extra', async () => ({ extra: true }));
        app.get('/boom', async () => {
          throw new Error('kaboom');
        });
      },
    });
    expect((await rig.ingress.inject({ method: 'GET', url: '/extra' })).json()).toEqual({ extra: true });
    await postPos(rig, sale('X-1'));
    const boom = await rig.ingress.inject({ method: 'GET', url: '/boom' });
    expect([boom.statusCode, boom.json()]).toEqual([500, { error: 'internal' }]);
    expect(seen).toEqual(['/extra 200', '/v1/pos/transactions 202', '/boom 500']);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'unexpected error in the ingress');
    expect(logged).toMatchObject({ level: 50, route: '/boom' });
    expect(logged).toHaveProperty('err');
  });

  it('never logs tokens, signatures, phones or emails, even without redaction', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    // A plain pino logger: nothing is redacted or scrubbed, so only what the ingress chooses to log appears.
    const raw = pino({ level: 'trace' }, sink) as unknown as Logger;
    const rig = await startRig({ logger: raw });
    await postPos(rig, sale('P-1', { customer: { phone: '4155550199', email: 'jane.doe@example.com' } }));
    await postPos(rig, sale('P-2', { customer: { phone: '415555019' } }));
    await postPos(rig, sale('P-3'), { 'content-type': 'application/json', authorization: 'Bearer leaked-token-123456' });
    await postPos(rig, '{"customer": {"phone": "4155550199"');
    const text = lines.join('');
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of [TOKEN, 'leaked-token-123456', '4155550199', '415555019', 'jane.doe', 'example.com']) expect(text).not.toContain(secret);
  });
});

describe('over a real socket', () => {
  async function listen(rigOptions: Parameters<typeof startRig>[0] = {}): Promise<{ rig: Rig; server: RunningIngress }> {
    const rig = await startRig(rigOptions);
    const server = await startIngress({ producer: rig.app.producer, redis: rig.app.redis, config: rig.app.config, logger: createLogger({ level: 'silent' }), host: '127.0.0.1', port: 0 });
    cleanups.push(() => server.close());
    return { rig, server };
  }

  it('accepts a POS batch with fetch and answers 202 with the results', async () => {
    const { rig, server } = await listen();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${server.url}/v1/pos/transactions`, { method: 'POST', headers: json, body: JSON.stringify({ transactions: [sale('S-1'), sale('S-2')] }) });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { results: Array<{ status: string }> };
    expect(body.results.map((r) => r.status)).toEqual(['queued', 'queued']);
    expect(await pointsJobs(rig)).toBe(2);
    const unauth = await fetch(`${server.url}/v1/pos/transactions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(unauth.status).toBe(401);
  });

  it('answers 413 from Content-Length without waiting for the body, and 413 for a chunked body over 1 MiB', async () => {
    const { rig, server } = await listen();
    const { port } = new URL(server.url);
    const send = (headers: Record<string, string | number>, write: (req: ReturnType<typeof httpRequest>) => void) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/pos/transactions', headers: { ...json, ...headers } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        // The server may close while a body is still being written; the answer is what counts.
        req.on('error', (err) => (err.message.includes('EPIPE') || err.message.includes('ECONNRESET') ? undefined : reject(err)));
        write(req);
      });
    // 2 MiB announced, a few bytes sent, the request never finished: the answer comes anyway.
    const announced = await send({ 'content-length': 2 * MiB }, (req) => req.write('{"source":'));
    expect(announced).toEqual({ status: 413, body: JSON.stringify({ error: 'payload_too_large' }) });
    const chunked = await send({ 'transfer-encoding': 'chunked' }, (req) => {
      const chunk = ' '.repeat(64 * 1024);
      for (let i = 0; i < 20; i += 1) req.write(chunk);
      req.end();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toEqual({ error: 'payload_too_large' });
    expect(await pointsJobs(rig)).toBe(0);
  });
});
