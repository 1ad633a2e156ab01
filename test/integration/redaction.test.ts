import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { secretsOf } from '../../src/cli/runtime.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createMetrics } from '../../src/lib/metrics.ts';
import { createAdminRoutes } from '../../src/producers/admin/index.ts';
import { createIngress, type IngressApp } from '../../src/producers/ingress/index.ts';
import { FAST_TUNING, startPipeline, type TestPipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait-for.ts';

const API_KEY = 'sk-live-Qm7Zt2Vb9Xc4';
const TOKEN = 'pos-token-Hy3Kd8Lw1Pq6';
const WEBHOOK_SECRET = 'whsec-Rn5Ju0Ge7Tf2';
const ADMIN_TOKEN = 'admin-token-Vx4Ma9Cs2Eb7';

/** Each customer as the flow writes them: the formats a log line could carry. */
const SALE_PHONE = ['4155550911', '(415) 555-0911', '415-555-0911', '+14155550911'];
const OPTIN_PHONE = ['4155550922', '+1 415-555-0922', '415.555.0922', '%2B14155550922'];
const FAILING_PHONE = ['4155550933', '(415) 555-0933', '415 555 0933'];
const EMAILS = ['Attr.Person@Example.com', 'attr.person@example.com', 'attr.person%40example.com', 'opt.in@example.org', 'bad@example.org'];

let pipeline: TestPipeline | undefined;
let ingress: IngressApp | undefined;
afterEach(async () => {
  await ingress?.close();
  await pipeline?.close();
  ingress = undefined;
  pipeline = undefined;
});

function signed(body: string): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', WEBHOOK_SECRET).update(`${ts}.${body}`).digest('hex');
  return { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': `sha256=${signature}` };
}

describe('logs at debug level', () => {
  it('never carry an API key, a token, a webhook secret, a phone or an email, through a whole flow with failures', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) }, secrets: [API_KEY, TOKEN, WEBHOOK_SECRET, ADMIN_TOKEN] });
    const metrics = createMetrics({ defaultMetrics: false });
    pipeline = await startPipeline({
      env: { AIQ_API_KEY: API_KEY, INGRESS_TOKENS: TOKEN, WEBHOOK_SECRET, ADMIN_TOKEN, LOG_LEVEL: 'debug', AIQ_TIMEOUT_MS: '500' },
      sim: { apiKey: API_KEY },
      logger,
      observers: metrics.observers,
      tuning: {
        ...FAST_TUNING,
        jobOptions: {
          ...FAST_TUNING.jobOptions,
          optin: { attempts: 2, backoff: { type: 'fixed', delay: 50 } },
          points: { attempts: 4, backoff: { type: 'fixed', delay: 50 } },
        },
      },
    });
    const p = pipeline;
    // The CLI hands the logger exactly these secrets.
    expect(secretsOf(p.app.config)).toEqual(expect.arrayContaining([API_KEY, TOKEN, WEBHOOK_SECRET, ADMIN_TOKEN]));
    metrics.attach(p.app);
    ingress = createIngress({
      producer: p.app.producer,
      redis: p.app.redis,
      config: p.app.config,
      logger,
      registerExtra: createAdminRoutes({ config: p.app.config, queues: p.app.queues, ledger: p.app.ledger, redis: p.app.redis, metrics }),
    });
    const api = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const events = () => p.app.events.readAll();
    const eventFor = (key: string) => waitFor(async () => (await events()).find((e) => e.key === key), { timeoutMs: 30_000, message: `the terminal event of ${key}` });

    p.sim.control.addPersona({ mobilePhone: SALE_PHONE[0]!, loyaltyPoints: 0 });
    p.sim.control.addPersona({ mobilePhone: OPTIN_PHONE[0]!, email: 'opt.in@example.org' });
    p.sim.control.addPersona({ mobilePhone: FAILING_PHONE[0]! });
    p.sim.control.addPersona({ email: 'attr.person@example.com' });

    // 1. A POS sale whose first credit is applied but its answer lost: retried, reconciled.
    p.sim.control.setFaults([{ route: 'adjustPoints', kind: 'applyThenDrop', probability: 1 }]);
    const sale = { source: 'treez', storeId: '12', transactionId: 'R-1', occurredAt: '2026-11-28T10:00:00Z', customer: { phone: SALE_PHONE[1] }, total: 12 };
    expect((await ingress.inject({ method: 'POST', url: '/v1/pos/transactions', headers: api, payload: JSON.stringify(sale) })).statusCode).toBe(202);
    expect(await eventFor('pos:treez:12:R-1:sale')).toMatchObject({ kind: 'points.applied' });

    // 2. An opt-in whose URL holds the phone, refused by AIQ until it is dead.
    p.sim.control.setFaults([{ route: 'optIn', kind: 'error5xx', probability: 1, status: 503 }]);
    const failing = JSON.stringify({ eventId: 'fail-1', phone: FAILING_PHONE[1], email: 'bad@example.org', source: 'web' });
    expect((await ingress.inject({ method: 'POST', url: '/v1/webhooks/optin', headers: signed(failing), payload: failing })).statusCode).toBe(202);
    expect(await eventFor('optin:web:fail-1')).toMatchObject({ kind: 'job.dead' });

    // 3. An opt-in that succeeds.
    p.sim.control.setFaults([]);
    const optIn = JSON.stringify({ eventId: 'ok-1', phone: OPTIN_PHONE[1], email: 'opt.in@example.org', source: 'web' });
    expect((await ingress.inject({ method: 'POST', url: '/v1/webhooks/optin', headers: signed(optIn), payload: optIn })).statusCode).toBe(202);
    expect(await eventFor('optin:web:ok-1')).toMatchObject({ kind: 'optin.applied' });

    // 4. An attribute sync by email: the lookup (whose URL holds the email) fails, then succeeds.
    p.sim.control.setFaults([{ route: 'loyaltyLookup', kind: 'error5xx', probability: 1, status: 500 }]);
    const update = { customer: { email: EMAILS[0] }, attributes: { tier: 'gold' }, version: 7 };
    const accepted = await ingress.inject({ method: 'POST', url: '/v1/contacts/attributes', headers: api, payload: JSON.stringify(update) });
    expect(accepted.statusCode).toBe(202);
    await waitFor(() => lines.some((l) => l.includes('"queue":"attributes"') && l.includes('attempt failed')), { timeoutMs: 20_000, message: 'a failed lookup attempt' });
    p.sim.control.setFaults([]);
    expect(await eventFor(accepted.json<{ idempotencyKey: string }>().idempotencyKey)).toMatchObject({ kind: 'attributes.synced' });

    // 5. Requests the ingress refuses, carrying the same data: a bad token, a bad signature, invalid fields.
    await ingress.inject({ method: 'POST', url: '/v1/pos/transactions', headers: { ...api, authorization: `Bearer ${TOKEN}x` }, payload: JSON.stringify(sale) });
    await ingress.inject({ method: 'POST', url: '/v1/webhooks/optin', headers: { ...signed(optIn), 'x-signature': `sha256=${'0'.repeat(64)}` }, payload: optIn });
    const invalid = { ...sale, transactionId: 'R-2', customer: { phone: '415555091', email: 'bad@example.org' } };
    expect((await ingress.inject({ method: 'POST', url: '/v1/pos/transactions', headers: api, payload: JSON.stringify(invalid) })).statusCode).toBe(400);
    expect((await ingress.inject({ method: 'GET', url: '/v1/admin/dlq?queue=optin', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).statusCode).toBe(200);
    expect((await ingress.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);

    await ingress.close();
    ingress = undefined;
    await pipeline.close();
    pipeline = undefined;
    logger.flush();

    // The flow was logged in detail, with the failures and the masked customers in it.
    expect(lines.length).toBeGreaterThan(30);
    const text = lines.join('');
    expect(text).toContain('aiq response');
    expect(text).toContain('attempt failed: will retry');
    expect(text).toContain('job failed: dead letter');
    expect(text).toMatch(/\*{6}0933/);
    expect(text).toMatch(/a\*\*\*@example\.com/);

    expect(leaksIn(lines)).toEqual([]);
  });

  it('scrub what careless code would write through the same root and request loggers', async () => {
    // The AIQ client already masks URLs and messages, so the flow above passes even without the
    // logger's own scrub; this is that last line of defence, with the same loggers and secrets.
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) }, secrets: [API_KEY, TOKEN, WEBHOOK_SECRET, ADMIN_TOKEN] });
    pipeline = await startPipeline({ env: { AIQ_API_KEY: API_KEY, INGRESS_TOKENS: TOKEN, WEBHOOK_SECRET, ADMIN_TOKEN }, sim: { apiKey: API_KEY }, logger });
    const p = pipeline;
    const admin = createAdminRoutes({ config: p.app.config, queues: p.app.queues, ledger: p.app.ledger, redis: p.app.redis });
    ingress = createIngress({
      producer: p.app.producer,
      redis: p.app.redis,
      config: p.app.config,
      logger,
      registerExtra: async (app) => {
        await admin(app);
        app.post('/careless', async (request, reply) => {
          const url = `/api/v2/loyalty/lookup/${encodeURIComponent(EMAILS[0]!)}?key=${API_KEY}`;
          request.log.warn({ headers: request.headers, body: request.body, url, err: new Error(`PUT /api/v1.1/optin/1234/${OPTIN_PHONE[0]!}/true failed (${EMAILS[3]!})`) }, `careless ${SALE_PHONE[1]!} ${EMAILS[1]!}`);
          return reply.code(204).send();
        });
      },
    });
    const body = { customer: { phone: SALE_PHONE[3], email: EMAILS[0] }, note: `call ${OPTIN_PHONE[2]!} or write to ${EMAILS[3]!}`, secret: WEBHOOK_SECRET };
    const res = await ingress.inject({ method: 'POST', url: '/careless', headers: { authorization: `Bearer ${TOKEN}`, 'x-apikey': API_KEY, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    expect(res.statusCode).toBe(204);
    const jobLog = logger.child({ queue: 'optin', jobId: 'optin-1', attempt: 1 });
    jobLog.error({ err: new Error(`AIQ refused ${API_KEY} for ${FAILING_PHONE[1]!}`), customer: { phone: FAILING_PHONE[2], email: EMAILS[4] }, payload: body }, `failed for ${FAILING_PHONE[0]!}`);
    jobLog.info(`admin used ${ADMIN_TOKEN} for ${EMAILS[4]!}`);
    logger.flush();

    expect(lines.some((l) => l.includes('careless'))).toBe(true);
    expect(lines.some((l) => l.includes('failed for'))).toBe(true);
    expect(leaksIn(lines)).toEqual([]);
  });
});

/** Every forbidden value found in a line, in any case. */
function leaksIn(lines: readonly string[]): string[] {
  const forbidden = [API_KEY, TOKEN, WEBHOOK_SECRET, ADMIN_TOKEN, ...SALE_PHONE, ...OPTIN_PHONE, ...FAILING_PHONE, ...EMAILS];
  return lines.flatMap((line) => forbidden.filter((f) => line.toLowerCase().includes(f.toLowerCase())).map((f) => `${f} in ${line}`));
}
