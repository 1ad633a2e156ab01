import { createHmac } from 'node:crypto';
import { request } from 'undici';
import type { Persona } from '../lib/aiq/types.ts';

/** Where the demo sends its sample traffic, and with which credentials. */
export interface TrafficTarget {
  ingressUrl: string;
  token: string;
  webhookSecret: string;
  shopifySecret: string;
}

export interface PostResult {
  status: number;
  body: unknown;
}

export interface AcceptedKey {
  key: string;
  queue: 'points' | 'optin' | 'attributes';
}

/** What the traffic produced: every key the ingress accepted, and every answer it gave. */
export interface TrafficLog {
  accepted: AcceptedKey[];
  duplicates: number;
  ignored: number;
  refusedByIngress: number;
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<PostResult> {
  const res = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.statusCode, body: parsed };
}

function record(log: TrafficLog, queue: AcceptedKey['queue'], result: PostResult): void {
  const body = result.body as { results?: Array<{ idempotencyKey: string; status: string }>; idempotencyKey?: string; status?: string };
  if (result.status >= 400) {
    log.refusedByIngress += 1;
    return;
  }
  const items = body.results ?? (body.idempotencyKey ? [{ idempotencyKey: body.idempotencyKey, status: body.status ?? '' }] : []);
  if (items.length === 0 && body.status === 'ignored') log.ignored += 1;
  for (const item of items) {
    if (item.status === 'queued') log.accepted.push({ key: item.idempotencyKey, queue });
    else log.duplicates += 1;
  }
}

/** A tiny deterministic PRNG, so every demo run sends the same traffic. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface TrafficPlan {
  /** Customers that buy: live, not blocklisted, with a phone. */
  buyers: Persona[];
  /** A number that explicitly opted out. */
  optedOut: Persona;
  /** Numbers that have not opted in yet. */
  optInCandidates: Persona[];
  sales: number;
}

/**
 * POS sales, returns and voids (one void before its sale), redeliveries, Shopify and generic
 * opt-ins (one for an opted-out number), all through the real HTTP routes.
 */
export async function sendSampleTraffic(target: TrafficTarget, plan: TrafficPlan, log: TrafficLog): Promise<void> {
  const random = prng(42);
  const bearer = { authorization: `Bearer ${target.token}` };
  const posUrl = `${target.ingressUrl}/v1/pos/transactions`;
  const at = new Date().toISOString();
  const sales = Array.from({ length: plan.sales }, (_, i) => {
    const buyer = plan.buyers[i % plan.buyers.length]!;
    return { source: 'demo-pos', storeId: String(1 + (i % 3)), transactionId: `S-${1000 + i}`, type: 'sale', occurredAt: at, customer: { phone: buyer.mobilePhone }, total: Math.round((5 + random() * 120) * 100) / 100 };
  });
  // A void that reaches us before its sale: it waits for the sale, then reverses it.
  const early = sales.pop()!;
  const earlyVoid = { ...early, transactionId: `V-${early.transactionId}`, type: 'void', originalTransactionId: early.transactionId };
  record(log, 'points', await post(posUrl, JSON.stringify(earlyVoid), bearer));

  for (let i = 0; i < sales.length; i += 20) {
    record(log, 'points', await post(posUrl, JSON.stringify({ transactions: sales.slice(i, i + 20) }), bearer));
  }
  record(log, 'points', await post(posUrl, JSON.stringify(early), bearer));
  // A POS that retries: the same ten transactions again are duplicates.
  record(log, 'points', await post(posUrl, JSON.stringify({ transactions: sales.slice(0, 10) }), bearer));

  const returns = sales.slice(10, 16).map((s) => ({ ...s, transactionId: `R-${s.transactionId}`, type: 'return', originalTransactionId: s.transactionId, total: Math.round(s.total * 50) / 100 }));
  const voids = [sales[20]!].map((s) => ({ ...s, transactionId: `V-${s.transactionId}`, type: 'void', originalTransactionId: s.transactionId }));
  record(log, 'points', await post(posUrl, JSON.stringify({ transactions: [...returns, ...voids] }), bearer));

  // Shopify customer webhooks: confirmed and single opt-in, one not subscribed, one redelivered.
  const shopify = async (webhookId: string, persona: Persona, state: string, level: string) => {
    const body = JSON.stringify({ id: Number(webhookId.replace(/\D/g, '')) || 1, email: persona.email ?? null, phone: persona.mobilePhone, sms_marketing_consent: { state, opt_in_level: level, consent_updated_at: at } });
    const hmac = createHmac('sha256', target.shopifySecret).update(body).digest('base64');
    return post(`${target.ingressUrl}/v1/webhooks/shopify`, body, { 'x-shopify-hmac-sha256': hmac, 'x-shopify-topic': 'customers/create', 'x-shopify-webhook-id': webhookId, 'x-shopify-shop-domain': 'demo.myshopify.com' });
  };
  const [c1, c2, c3] = plan.optInCandidates;
  if (c1) record(log, 'optin', await shopify('wh-1001', c1, 'subscribed', 'confirmed_opt_in'));
  if (c2) record(log, 'optin', await shopify('wh-1002', c2, 'subscribed', 'single_opt_in'));
  if (c3) record(log, 'optin', await shopify('wh-1003', c3, 'not_subscribed', 'single_opt_in'));
  if (c1) record(log, 'optin', await shopify('wh-1001', c1, 'subscribed', 'confirmed_opt_in'));

  // The generic signed webhook, once for a number that explicitly opted out.
  const generic = async (eventId: string, phone: string | null | undefined) => {
    const body = JSON.stringify({ eventId, phone, doubleOpt: false, loyalty: true, source: 'demo-web' });
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = createHmac('sha256', target.webhookSecret).update(`${ts}.${body}`).digest('hex');
    return post(`${target.ingressUrl}/v1/webhooks/optin`, body, { 'x-timestamp': ts, 'x-signature': `sha256=${signature}` });
  };
  const c4 = plan.optInCandidates[3];
  if (c4) record(log, 'optin', await generic('evt-1', c4.mobilePhone));
  record(log, 'optin', await generic('evt-2', plan.optedOut.mobilePhone));
}
