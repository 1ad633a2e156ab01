import { asRecord, checkIdHeader, describeValue, optInDecision, pickEmail, pickPhone, type WebhookDecision } from './webhook-decision.ts';

/** Topics whose payload can carry the consent field: customers and new orders. */
export const WOOCOMMERCE_TOPICS: ReadonlySet<string> = new Set(['customer.created', 'customer.updated', 'order.created']);

export const WOOCOMMERCE_SOURCE = 'woocommerce';

/** The body of the ping WooCommerce sends, unsigned and form-encoded, when a webhook is created. */
export const WOOCOMMERCE_PING = /^webhook_id=\d{1,20}$/;

export interface WooCommerceDelivery {
  /** `X-WC-Webhook-Topic` */
  topic: string | undefined;
  /** `X-WC-Webhook-Delivery-ID`: the opt-in's event id. */
  deliveryId: string | undefined;
  body: unknown;
}

export interface WooCommerceOptions {
  /** Name of the consent field, at the top level or in `meta_data` (WOOCOMMERCE_CONSENT_FIELD). */
  consentField: string;
  /** Whether consent asks AIQ for a double opt-in (WOOCOMMERCE_DOUBLE_OPT_IN). */
  doubleOptIn: boolean;
}

const TRUTHY = new Set(['yes', '1', 'true', 'on']);

/** `true`, `1`, and `'yes'`, `'1'`, `'true'`, `'on'` in any case; anything else is no consent. */
export function isConsentValue(value: unknown): boolean {
  if (value === true || value === 1) return true;
  return typeof value === 'string' && TRUTHY.has(value.trim().toLowerCase());
}

/** The consent field's value: the top-level key wins; else the first `meta_data` entry with that key. */
export function consentValue(record: Record<string, unknown>, field: string): unknown {
  if (Object.hasOwn(record, field)) return record[field];
  const meta = Array.isArray(record.meta_data) ? record.meta_data : [];
  for (const entry of meta) {
    const e = asRecord(entry);
    if (e !== undefined && e.key === field) return e.value;
  }
  return undefined;
}

/** WooCommerce customer or order → an SMS opt-in when the consent field is truthy. */
export function decideWooCommerce(delivery: WooCommerceDelivery, options: WooCommerceOptions): WebhookDecision {
  if (delivery.topic === undefined || delivery.topic === '') {
    return { kind: 'invalid', issues: [{ path: 'headers.x-wc-webhook-topic', message: 'required' }] };
  }
  if (!WOOCOMMERCE_TOPICS.has(delivery.topic)) return { kind: 'ignored', reason: `topic ${describeValue(delivery.topic)} is not handled` };
  const id = checkIdHeader(delivery.deliveryId, 'x-wc-webhook-delivery-id');
  if (!id.ok) return { kind: 'invalid', issues: id.issues };
  const record = asRecord(delivery.body);
  if (record === undefined) return { kind: 'invalid', issues: [{ path: '', message: 'expected a WooCommerce customer or order object' }] };

  if (!isConsentValue(consentValue(record, options.consentField))) {
    return { kind: 'ignored', reason: `no SMS consent (${options.consentField} is not yes/true/1/on)` };
  }
  const billing = asRecord(record.billing);
  const phone = pickPhone([billing?.phone]);
  if (!phone.ok) return { kind: 'ignored', reason: `billing.phone: ${phone.reason}` };
  const email = pickEmail([record.email, billing?.email]);
  return optInDecision({
    eventId: id.id,
    phone: phone.phone,
    ...(email === undefined ? {} : { email }),
    doubleOpt: options.doubleOptIn,
    source: WOOCOMMERCE_SOURCE,
  });
}
