import { createHmac, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/lib/config.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createIngress, startIngress, type IngressApp } from '../../src/producers/ingress/index.ts';
import { createTestRedis, deletePrefix, testPrefix, testRedisUrl } from '../helpers/redis.ts';

const GENERIC_SECRET = 'generic-secret-0123';
const SHOPIFY_SECRET = 'shopify-secret-4567';
const WOO_SECRET = 'woo-secret-89ab';

interface Rig {
  app: App;
  ingress: IngressApp;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startRig(env: Record<string, string> = {}): Promise<Rig> {
  const prefix = testPrefix();
  const config = loadConfig(
    {
      REDIS_URL: testRedisUrl(),
      SYNC_PREFIX: prefix,
      INGRESS_TOKENS: 'some-token-0123456789',
      WEBHOOK_SECRET: GENERIC_SECRET,
      SHOPIFY_WEBHOOK_SECRET: SHOPIFY_SECRET,
      WOOCOMMERCE_WEBHOOK_SECRET: WOO_SECRET,
      LOG_LEVEL: 'silent',
      ...env,
    },
    { roles: ['ingress'] },
  );
  const logger = createLogger({ level: 'silent' });
  const app = createApp({ config, logger });
  await app.start();
  const ingress = createIngress({ producer: app.producer, redis: app.redis, config, logger });
  await ingress.ready();
  cleanups.push(async () => {
    await ingress.close();
    await app.close();
    const redis = createTestRedis();
    await deletePrefix(redis, prefix);
    await redis.quit();
  });
  return { app, ingress };
}

async function optInJobs(rig: Rig): Promise<number> {
  const counts = await rig.app.queues.optin.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

async function jobData(rig: Rig, jobId: string): Promise<unknown> {
  return (await rig.app.queues.optin.getJob(jobId))?.data;
}

// Signatures are computed here with node:crypto, independently of the code under test.
const nowS = () => Math.floor(Date.now() / 1000);
function genericHeaders(body: string, options: { timestamp?: number; secret?: string } = {}): Record<string, string> {
  const ts = String(options.timestamp ?? nowS());
  const sig = createHmac('sha256', options.secret ?? GENERIC_SECRET).update(`${ts}.${body}`).digest('hex');
  return { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': `sha256=${sig}` };
}
const base64Sig = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('base64');

async function postGeneric(rig: Rig, body: string, headers: Record<string, string>) {
  return rig.ingress.inject({ method: 'POST', url: '/v1/webhooks/optin', headers, payload: body });
}

describe('POST /v1/webhooks/optin (generic, signed)', () => {
  const optIn = (eventId: string, extra: Record<string, unknown> = {}) => JSON.stringify({ eventId, phone: '+1 (415) 555-0111', email: 'Jane@Example.com', source: 'web', ...extra });

  it('enqueues a signed opt-in and answers 202 with its key and job', async () => {
    const rig = await startRig();
    const body = optIn('evt-1', { doubleOpt: true });
    const res = await postGeneric(rig, body, genericHeaders(body));
    expect(res.statusCode).toBe(202);
    const answer = res.json();
    expect(answer).toEqual({ idempotencyKey: 'optin:web:evt-1', jobId: expect.stringMatching(/^optin-/), status: 'queued' });
    expect(await jobData(rig, answer.jobId)).toEqual({ eventId: 'evt-1', phone: '4155550111', email: 'jane@example.com', doubleOpt: true, loyalty: true, source: 'web' });
  });

  it('answers a replayed delivery as a duplicate of the same job', async () => {
    const rig = await startRig();
    const body = optIn('evt-2');
    const headers = genericHeaders(body);
    const first = await postGeneric(rig, body, headers);
    const replay = await postGeneric(rig, body, headers);
    expect(first.json().status).toBe('queued');
    expect(replay.statusCode).toBe(202);
    expect(replay.json()).toEqual({ ...first.json(), status: 'duplicate' });
    expect(await optInJobs(rig)).toBe(1);
  });

  it.each([
    ['a signature made with another secret', (b: string) => genericHeaders(b, { secret: 'not-the-secret' })],
    ['a signature of another body', (b: string) => genericHeaders(`${b} `)],
    ['no signature', (b: string) => ({ ...genericHeaders(b), 'x-signature': '' })],
    ['no timestamp', (b: string) => {
      const { 'x-timestamp': _omit, ...rest } = genericHeaders(b);
      return rest;
    }],
    ['a timestamp 6 minutes old', (b: string) => genericHeaders(b, { timestamp: nowS() - 360 })],
    ['a timestamp 6 minutes in the future', (b: string) => genericHeaders(b, { timestamp: nowS() + 360 })],
    ['a timestamp in milliseconds', (b: string) => genericHeaders(b, { timestamp: Date.now() })],
    ['a signature without its sha256= prefix', (b: string) => {
      const h = genericHeaders(b);
      return { ...h, 'x-signature': h['x-signature']!.slice('sha256='.length) };
    }],
  ])('answers 401 and enqueues nothing for %s', async (_name, headersFor) => {
    const rig = await startRig();
    const body = optIn('evt-401');
    const res = await postGeneric(rig, body, headersFor(body));
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: 'unauthorized' });
    expect(await optInJobs(rig)).toBe(0);
  });

  it('accepts a timestamp 4 minutes old or ahead, and upper-case hex', async () => {
    const rig = await startRig();
    const past = optIn('evt-past');
    expect((await postGeneric(rig, past, genericHeaders(past, { timestamp: nowS() - 240 }))).statusCode).toBe(202);
    const ahead = optIn('evt-ahead');
    expect((await postGeneric(rig, ahead, genericHeaders(ahead, { timestamp: nowS() + 240 }))).statusCode).toBe(202);
    const upper = optIn('evt-upper');
    const h = genericHeaders(upper);
    expect((await postGeneric(rig, upper, { ...h, 'x-signature': `sha256=${h['x-signature']!.slice(7).toUpperCase()}` })).statusCode).toBe(202);
  });

  it('checks the signature before the body: a bad signature on a bad body is 401, a good one is 400 naming the field', async () => {
    const rig = await startRig();
    const malformed = '{"eventId": ';
    expect((await postGeneric(rig, malformed, { ...genericHeaders(malformed), 'x-signature': 'sha256=00' })).statusCode).toBe(401);
    const bad400 = await postGeneric(rig, malformed, genericHeaders(malformed));
    expect(bad400.statusCode).toBe(400);
    expect(bad400.json().issues).toEqual([{ path: '', message: expect.stringMatching(/^malformed JSON: /) }]);
    const badPhone = optIn('evt-bad', { phone: '415555011', source: 'Web' });
    const res = await postGeneric(rig, badPhone, genericHeaders(badPhone));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: 'invalid_request',
      issues: expect.arrayContaining([
        { path: 'phone', message: 'expected a 10-digit US phone number' },
        { path: 'source', message: 'expected 1 to 32 of a-z, 0-9, _ and -' },
      ]),
    });
    const poisoned = '{"eventId":"e","phone":"4155550111","source":"web","__proto__":{"doubleOpt":true}}';
    const proto = await postGeneric(rig, poisoned, genericHeaders(poisoned));
    expect(proto.statusCode).toBe(400);
    expect(proto.json().issues[0].message).toContain('__proto__');
    expect(await optInJobs(rig)).toBe(0);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const rig = await startRig();
    const body = optIn('evt-415');
    const res = await postGeneric(rig, body, { ...genericHeaders(body), 'content-type': 'text/plain' });
    expect([res.statusCode, res.json()]).toEqual([415, { error: 'unsupported_media_type' }]);
    expect(await optInJobs(rig)).toBe(0);
  });
});

describe('POST /v1/webhooks/shopify', () => {
  function customer(consent: Record<string, unknown> | null, extra: Record<string, unknown> = {}): string {
    return JSON.stringify({ id: 207119551, email: 'bob@biller.com', first_name: 'Bob', phone: '+14155550122', sms_marketing_consent: consent, default_address: { phone: '415-555-0199' }, ...extra });
  }
  function shopifyHeaders(body: string, options: { topic?: string; webhookId?: string; secret?: string } = {}): Record<string, string> {
    return {
      'content-type': 'application/json',
      'x-shopify-topic': options.topic ?? 'customers/create',
      'x-shopify-webhook-id': options.webhookId ?? randomUUID(),
      'x-shopify-hmac-sha256': base64Sig(options.secret ?? SHOPIFY_SECRET, body),
      'x-shopify-shop-domain': 'example.myshopify.com',
    };
  }
  const post = (rig: Rig, body: string, headers: Record<string, string>) => rig.ingress.inject({ method: 'POST', url: '/v1/webhooks/shopify', headers, payload: body });

  it('opts in a subscribed customer with confirmed_opt_in without double opt-in, keyed by the webhook id', async () => {
    const rig = await startRig();
    const body = customer({ state: 'subscribed', opt_in_level: 'confirmed_opt_in', consent_updated_at: '2026-11-28T10:00:00Z' });
    const res = await post(rig, body, shopifyHeaders(body, { webhookId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043' }));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ idempotencyKey: 'optin:shopify:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', status: 'queued' });
    expect(await jobData(rig, res.json().jobId)).toEqual({ eventId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', phone: '4155550122', email: 'bob@biller.com', doubleOpt: false, loyalty: true, source: 'shopify' });
  });

  it('asks for a double opt-in for single_opt_in, unless SHOPIFY_SINGLE_OPT_IN_DOUBLE is off', async () => {
    const rig = await startRig();
    const body = customer({ state: 'subscribed', opt_in_level: 'single_opt_in' });
    const res = await post(rig, body, shopifyHeaders(body, { topic: 'customers/update' }));
    expect(res.statusCode).toBe(202);
    expect(await jobData(rig, res.json().jobId)).toMatchObject({ doubleOpt: true, source: 'shopify' });

    const lenient = await startRig({ SHOPIFY_SINGLE_OPT_IN_DOUBLE: '0' });
    const res2 = await post(lenient, body, shopifyHeaders(body));
    expect(await jobData(lenient, res2.json().jobId)).toMatchObject({ doubleOpt: false });
  });

  it.each(['not_subscribed', 'unsubscribed', 'pending', 'redacted'])('ignores consent state %s with 200 and enqueues nothing', async (state) => {
    const rig = await startRig();
    const body = customer({ state, opt_in_level: 'single_opt_in' });
    const res = await post(rig, body, shopifyHeaders(body));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ignored', reason: `sms_marketing_consent.state is "${state}", not "subscribed"` });
    expect(await optInJobs(rig)).toBe(0);
  });

  it('ignores a customer without SMS consent or without a phone, and topics it does not handle', async () => {
    const rig = await startRig();
    const noConsent = customer(null);
    expect((await post(rig, noConsent, shopifyHeaders(noConsent))).json()).toEqual({ status: 'ignored', reason: 'no sms_marketing_consent' });
    const noPhone = customer({ state: 'subscribed', opt_in_level: 'confirmed_opt_in' }, { phone: null, default_address: null });
    expect((await post(rig, noPhone, shopifyHeaders(noPhone))).json()).toEqual({ status: 'ignored', reason: 'no phone number' });
    const foreign = customer({ state: 'subscribed', opt_in_level: 'confirmed_opt_in' }, { phone: '+44 20 7946 0958' });
    expect((await post(rig, foreign, shopifyHeaders(foreign))).json().reason).toBe('the phone number is not a 10-digit US number');
    const order = JSON.stringify({ id: 1, total_price: '10.00' });
    const res = await post(rig, order, shopifyHeaders(order, { topic: 'orders/create' }));
    expect([res.statusCode, res.json()]).toEqual([200, { status: 'ignored', reason: 'topic "orders/create" is not handled' }]);
    expect(await optInJobs(rig)).toBe(0);
  });

  it('takes the phone from the default address when the customer has none', async () => {
    const rig = await startRig();
    const body = customer({ state: 'subscribed', opt_in_level: 'confirmed_opt_in' }, { phone: null, email: null });
    const res = await post(rig, body, shopifyHeaders(body));
    expect(res.statusCode).toBe(202);
    expect(await jobData(rig, res.json().jobId)).toEqual(expect.objectContaining({ phone: '4155550199' }));
    expect(await jobData(rig, res.json().jobId)).not.toHaveProperty('email');
  });

  it('answers a redelivered webhook (same X-Shopify-Webhook-Id) as a duplicate: one job', async () => {
    const rig = await startRig();
    const body = customer({ state: 'subscribed', opt_in_level: 'confirmed_opt_in' });
    const headers = shopifyHeaders(body);
    const first = await post(rig, body, headers);
    const redelivered = await post(rig, body, headers);
    expect(first.json().status).toBe('queued');
    expect(redelivered.json()).toEqual({ ...first.json(), status: 'duplicate' });
    expect(await optInJobs(rig)).toBe(1);
  });

  it('answers 401 for a bad, missing or foreign signature, and 400 without a webhook id', async () => {
    const rig = await startRig();
    const body = customer({ state: 'subscribed', opt_in_level: 'confirmed_opt_in' });
    const good = shopifyHeaders(body);
    for (const headers of [
      { ...good, 'x-shopify-hmac-sha256': base64Sig('other-secret', body) },
      { ...good, 'x-shopify-hmac-sha256': '' },
      { ...good, 'x-shopify-hmac-sha256': base64Sig(SHOPIFY_SECRET, `${body} `) },
      { ...good, 'x-shopify-hmac-sha256': good['x-shopify-hmac-sha256']!.replace(/=+$/, '') },
    ]) {
      const res = await post(rig, body, headers);
      expect([res.statusCode, res.json()]).toEqual([401, { error: 'unauthorized' }]);
    }
    const { 'x-shopify-webhook-id': _omit, ...noId } = good;
    const res = await post(rig, body, noId);
    expect(res.statusCode).toBe(400);
    expect(res.json().issues).toEqual([{ path: 'headers.x-shopify-webhook-id', message: 'required' }]);
    expect(await optInJobs(rig)).toBe(0);
  });
});

describe('POST /v1/webhooks/woocommerce', () => {
  function wooHeaders(body: string, options: { topic?: string; deliveryId?: string } = {}): Record<string, string> {
    return {
      'content-type': 'application/json',
      'x-wc-webhook-topic': options.topic ?? 'customer.created',
      'x-wc-webhook-delivery-id': options.deliveryId ?? randomUUID().replace(/-/g, ''),
      'x-wc-webhook-signature': base64Sig(WOO_SECRET, body),
      'x-wc-webhook-source': 'https://shop.example.com/',
    };
  }
  const wooCustomer = (extra: Record<string, unknown>) => JSON.stringify({ id: 12, email: 'ann@shop.example', billing: { phone: '(415) 555-0133', email: 'billing@shop.example' }, meta_data: [], ...extra });
  const post = (rig: Rig, body: string, headers: Record<string, string>) => rig.ingress.inject({ method: 'POST', url: '/v1/webhooks/woocommerce', headers, payload: body });

  it.each([
    ['a top-level true', { sms_opt_in: true }],
    ['a top-level "yes"', { sms_opt_in: 'yes' }],
    ['a meta_data "on"', { meta_data: [{ id: 1, key: 'other', value: 'no' }, { id: 2, key: 'sms_opt_in', value: 'on' }] }],
    ['a meta_data "1"', { meta_data: [{ id: 2, key: 'sms_opt_in', value: '1' }] }],
  ])('opts in a customer whose consent field is %s, with double opt-in by default', async (_name, extra) => {
    const rig = await startRig();
    const body = wooCustomer(extra);
    const res = await post(rig, body, wooHeaders(body, { deliveryId: 'd-1' }));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ idempotencyKey: 'optin:woocommerce:d-1', status: 'queued' });
    expect(await jobData(rig, res.json().jobId)).toEqual({ eventId: 'd-1', phone: '4155550133', email: 'ann@shop.example', doubleOpt: true, loyalty: true, source: 'woocommerce' });
  });

  it.each([
    ['false', { sms_opt_in: false }],
    ['"no"', { sms_opt_in: 'no' }],
    ['"0" in meta_data', { meta_data: [{ key: 'sms_opt_in', value: '0' }] }],
    ['missing', {}],
  ])('ignores a customer whose consent field is %s', async (_name, extra) => {
    const rig = await startRig();
    const body = wooCustomer(extra);
    const res = await post(rig, body, wooHeaders(body));
    expect([res.statusCode, res.json()]).toEqual([200, { status: 'ignored', reason: 'no SMS consent (sms_opt_in is not yes/true/1/on)' }]);
    expect(await optInJobs(rig)).toBe(0);
  });

  it('reads a configured consent field, honours WOOCOMMERCE_DOUBLE_OPT_IN=0, and takes the email from billing on an order', async () => {
    const rig = await startRig({ WOOCOMMERCE_CONSENT_FIELD: '_marketing_sms', WOOCOMMERCE_DOUBLE_OPT_IN: '0' });
    const order = JSON.stringify({ id: 99, status: 'processing', billing: { phone: '415.555.0144', email: 'Guest@Shop.Example' }, meta_data: [{ id: 7, key: '_marketing_sms', value: 'true' }] });
    const res = await post(rig, order, wooHeaders(order, { topic: 'order.created' }));
    expect(res.statusCode).toBe(202);
    expect(await jobData(rig, res.json().jobId)).toMatchObject({ phone: '4155550144', email: 'guest@shop.example', doubleOpt: false, source: 'woocommerce' });
    const defaultField = wooCustomer({ sms_opt_in: 'yes' });
    expect((await post(rig, defaultField, wooHeaders(defaultField))).json().status).toBe('ignored');
  });

  it('answers the creation ping (unsigned, form-encoded) with 200 and enqueues nothing; other form bodies are 415', async () => {
    const rig = await startRig();
    const ping = await rig.ingress.inject({ method: 'POST', url: '/v1/webhooks/woocommerce', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'webhook_id=42' });
    expect([ping.statusCode, ping.json()]).toEqual([200, { status: 'ignored', reason: 'ping' }]);
    const form = await rig.ingress.inject({ method: 'POST', url: '/v1/webhooks/woocommerce', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'phone=4155550133' });
    expect(form.statusCode).toBe(415);
    expect(await optInJobs(rig)).toBe(0);
  });

  it('dedupes by X-WC-Webhook-Delivery-ID and refuses bad signatures with 401', async () => {
    const rig = await startRig();
    const body = wooCustomer({ sms_opt_in: 'yes' });
    const headers = wooHeaders(body);
    expect((await post(rig, body, headers)).json().status).toBe('queued');
    expect((await post(rig, body, headers)).json().status).toBe('duplicate');
    const forged = await post(rig, body, { ...headers, 'x-wc-webhook-signature': base64Sig('wrong-secret', body), 'x-wc-webhook-delivery-id': 'other' });
    expect([forged.statusCode, forged.json()]).toEqual([401, { error: 'unauthorized' }]);
    const { 'x-wc-webhook-signature': _omit, ...unsigned } = headers;
    expect((await post(rig, body, { ...unsigned, 'x-wc-webhook-delivery-id': 'other-2' })).statusCode).toBe(401);
    expect(await optInJobs(rig)).toBe(1);
  });

  it('ignores topics it does not handle', async () => {
    const rig = await startRig();
    const body = JSON.stringify({ id: 5, name: 'Hat' });
    const res = await post(rig, body, wooHeaders(body, { topic: 'product.created' }));
    expect([res.statusCode, res.json()]).toEqual([200, { status: 'ignored', reason: 'topic "product.created" is not handled' }]);
  });
});

describe('webhooks over a real socket', () => {
  it('accepts a signed Shopify webhook with fetch, and refuses the same body with a bad signature', async () => {
    const rig = await startRig();
    const server = await startIngress({ producer: rig.app.producer, redis: rig.app.redis, config: rig.app.config, logger: createLogger({ level: 'silent' }), port: 0 });
    cleanups.push(() => server.close());
    const body = JSON.stringify({ id: 1, phone: '4155550155', sms_marketing_consent: { state: 'subscribed', opt_in_level: 'confirmed_opt_in' } });
    const headers = { 'content-type': 'application/json', 'x-shopify-topic': 'customers/create', 'x-shopify-webhook-id': 'wh-socket-1', 'x-shopify-hmac-sha256': base64Sig(SHOPIFY_SECRET, body) };
    const res = await fetch(`${server.url}/v1/webhooks/shopify`, { method: 'POST', headers, body });
    expect(res.status).toBe(202);
    const answer = (await res.json()) as { jobId: string; status: string };
    expect(answer.status).toBe('queued');
    expect(await jobData(rig, answer.jobId)).toMatchObject({ phone: '4155550155', doubleOpt: false });
    const bad = await fetch(`${server.url}/v1/webhooks/shopify`, { method: 'POST', headers: { ...headers, 'x-shopify-webhook-id': 'wh-socket-2', 'x-shopify-hmac-sha256': base64Sig('nope-nope', body) }, body });
    expect(bad.status).toBe(401);
    expect(await optInJobs(rig)).toBe(1);
  });
});
