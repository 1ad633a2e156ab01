import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResultEvent } from '../../src/lib/events.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { startIngress, type RunningIngress } from '../../src/producers/ingress/index.ts';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait-for.ts';

const TOKEN = 'pos-token-0123456789';
const SECRET = 'generic-secret-0123';
const SHOPIFY_SECRET = 'shopify-secret-4567';

let pipeline: TestPipeline | undefined;
let ingress: RunningIngress | undefined;
afterEach(async () => {
  await ingress?.close();
  await pipeline?.close();
  ingress = undefined;
  pipeline = undefined;
});

/** The whole pipeline (simulator, workers) and the ingress in front of it, over a real socket. */
async function start(): Promise<{ p: TestPipeline; url: string }> {
  pipeline = await startPipeline({ env: { INGRESS_TOKENS: TOKEN, WEBHOOK_SECRET: SECRET, SHOPIFY_WEBHOOK_SECRET: SHOPIFY_SECRET } });
  ingress = await startIngress({ producer: pipeline.app.producer, redis: pipeline.app.redis, config: pipeline.app.config, logger: createLogger({ level: 'silent' }), host: '127.0.0.1', port: 0 });
  return { p: pipeline, url: ingress.url };
}

async function eventFor(p: TestPipeline, key: string): Promise<ResultEvent> {
  return waitFor(async () => (await p.app.events.readAll()).find((e) => e.key === key), { timeoutMs: 20_000, message: `a terminal event for ${key}` });
}

describe('ingress → queues → workers → AIQ', () => {
  it('opts in a known phone from a signed generic webhook, once, even when the webhook is delivered twice', async () => {
    const { p, url } = await start();
    const persona = p.sim.control.addPersona({ mobilePhone: '4155550301' });
    const body = JSON.stringify({ eventId: 'signup-1', phone: '(415) 555-0301', source: 'web', doubleOpt: false });
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': `sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}` };
    const res = await fetch(`${url}/v1/webhooks/optin`, { method: 'POST', headers, body });
    expect(res.status).toBe(202);
    const answer = (await res.json()) as { idempotencyKey: string; jobId: string; status: string };
    expect(answer).toMatchObject({ idempotencyKey: 'optin:web:signup-1', status: 'queued' });

    const event = await eventFor(p, 'optin:web:signup-1');
    expect(event).toMatchObject({ kind: 'optin.applied', jobId: answer.jobId, contactID: persona.contactID });
    const replay = await fetch(`${url}/v1/webhooks/optin`, { method: 'POST', headers, body });
    expect(((await replay.json()) as { status: string }).status).toBe('duplicate');
    expect(p.sim.control.ledger().filter((l) => l.route === 'optIn')).toHaveLength(1);
    expect(p.sim.control.persona(persona.contactID)!.optinTime ?? 0).toBeGreaterThan(0);
  });

  it('sends a double opt-in request for a Shopify single_opt_in customer', async () => {
    const { p, url } = await start();
    const persona = p.sim.control.addPersona({ mobilePhone: '4155550302' });
    const body = JSON.stringify({ id: 1, phone: '+14155550302', sms_marketing_consent: { state: 'subscribed', opt_in_level: 'single_opt_in' } });
    const headers = {
      'content-type': 'application/json',
      'x-shopify-topic': 'customers/create',
      'x-shopify-webhook-id': 'wh-pipeline-1',
      'x-shopify-hmac-sha256': createHmac('sha256', SHOPIFY_SECRET).update(body).digest('base64'),
    };
    const res = await fetch(`${url}/v1/webhooks/shopify`, { method: 'POST', headers, body });
    expect(res.status).toBe(202);
    expect(await eventFor(p, 'optin:shopify:wh-pipeline-1')).toMatchObject({ kind: 'optin.requested', contactID: persona.contactID });
    expect(p.sim.control.persona(persona.contactID)).toMatchObject({ hasRequested: true });
  });

  it('credits a POS sale posted over HTTP', async () => {
    const { p, url } = await start();
    const persona = p.sim.control.addPersona({ mobilePhone: '4155550303', loyaltyPoints: 0 });
    const sale = { source: 'treez', storeId: '12', transactionId: 'T-HTTP-1', occurredAt: '2026-11-28T10:00:00Z', customer: { phone: '4155550303' }, total: 42.5 };
    const res = await fetch(`${url}/v1/pos/transactions`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(sale) });
    expect(res.status).toBe(202);
    const event = await eventFor(p, 'pos:treez:12:T-HTTP-1:sale');
    expect(event).toMatchObject({ kind: 'points.applied', contactID: persona.contactID });
    expect(p.sim.control.persona(persona.contactID)!.loyaltyPoints).toBe(42);
  });
});
