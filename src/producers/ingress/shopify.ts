import { asRecord, checkIdHeader, describeValue, optInDecision, pickEmail, pickPhone, type WebhookDecision } from './webhook-decision.ts';

/** The customer topics that can carry SMS consent. */
export const SHOPIFY_TOPICS: ReadonlySet<string> = new Set(['customers/create', 'customers/update']);

export const SHOPIFY_SOURCE = 'shopify';

export interface ShopifyDelivery {
  /** `X-Shopify-Topic` */
  topic: string | undefined;
  /** `X-Shopify-Webhook-Id`: the same on every redelivery, so it is the opt-in's event id. */
  webhookId: string | undefined;
  /** The parsed customer. */
  body: unknown;
}

export interface ShopifyOptions {
  /** Whether `single_opt_in` consent asks AIQ for a double opt-in (SHOPIFY_SINGLE_OPT_IN_DOUBLE). */
  singleOptInDouble: boolean;
}

/**
 * Shopify `customers/create` and `customers/update` → an SMS opt-in when
 * `sms_marketing_consent.state` is `subscribed`. `confirmed_opt_in` was already confirmed by
 * the customer, so AIQ need not ask again; `single_opt_in` (and an unknown level) asks for a
 * double opt-in unless configured otherwise.
 */
export function decideShopify(delivery: ShopifyDelivery, options: ShopifyOptions): WebhookDecision {
  if (delivery.topic === undefined || delivery.topic === '') {
    return { kind: 'invalid', issues: [{ path: 'headers.x-shopify-topic', message: 'required' }] };
  }
  if (!SHOPIFY_TOPICS.has(delivery.topic)) return { kind: 'ignored', reason: `topic ${describeValue(delivery.topic)} is not handled` };
  const id = checkIdHeader(delivery.webhookId, 'x-shopify-webhook-id');
  if (!id.ok) return { kind: 'invalid', issues: id.issues };
  const customer = asRecord(delivery.body);
  if (customer === undefined) return { kind: 'invalid', issues: [{ path: '', message: 'expected a Shopify customer object' }] };

  const consent = asRecord(customer.sms_marketing_consent);
  if (consent === undefined) return { kind: 'ignored', reason: 'no sms_marketing_consent' };
  if (consent.state !== 'subscribed') return { kind: 'ignored', reason: `sms_marketing_consent.state is ${describeValue(consent.state)}, not "subscribed"` };

  const phone = pickPhone([customer.phone, consent.phone, asRecord(customer.default_address)?.phone]);
  if (!phone.ok) return { kind: 'ignored', reason: phone.reason };
  const email = pickEmail([customer.email]);
  const doubleOpt = consent.opt_in_level === 'confirmed_opt_in' ? false : options.singleOptInDouble;
  return optInDecision({
    eventId: id.id,
    phone: phone.phone,
    ...(email === undefined ? {} : { email }),
    doubleOpt,
    source: SHOPIFY_SOURCE,
  });
}
