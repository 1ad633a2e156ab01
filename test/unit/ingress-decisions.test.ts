import { describe, expect, it } from 'vitest';
import { decideShopify } from '../../src/producers/ingress/shopify.ts';
import { consentValue, decideWooCommerce, isConsentValue } from '../../src/producers/ingress/woocommerce.ts';

describe('decideShopify', () => {
  const decide = (body: unknown, options: { topic?: string; webhookId?: string | undefined; singleOptInDouble?: boolean } = {}) =>
    decideShopify(
      { topic: options.topic ?? 'customers/create', webhookId: 'webhookId' in options ? options.webhookId : 'wh-1', body },
      { singleOptInDouble: options.singleOptInDouble ?? true },
    );
  const subscribed = (level: unknown, extra: Record<string, unknown> = {}) => ({ phone: '+1 415 555 0100', email: 'A@B.co', sms_marketing_consent: { state: 'subscribed', opt_in_level: level }, ...extra });

  it('maps opt_in_level to doubleOpt: confirmed → false, single and unknown → the setting', () => {
    expect(decide(subscribed('confirmed_opt_in'))).toEqual({ kind: 'optin', optIn: { eventId: 'wh-1', phone: '4155550100', email: 'a@b.co', doubleOpt: false, loyalty: true, source: 'shopify' } });
    for (const level of ['single_opt_in', 'unknown', null, undefined]) {
      expect(decide(subscribed(level))).toMatchObject({ kind: 'optin', optIn: { doubleOpt: true } });
      expect(decide(subscribed(level), { singleOptInDouble: false })).toMatchObject({ kind: 'optin', optIn: { doubleOpt: false } });
    }
  });

  it('takes the phone from the customer, then the consent, then the default address', () => {
    expect(decide(subscribed('confirmed_opt_in', { phone: null, sms_marketing_consent: { state: 'subscribed', phone: '4155550111' }, default_address: { phone: '4155550122' } }))).toMatchObject({ optIn: { phone: '4155550111' } });
    expect(decide(subscribed('confirmed_opt_in', { phone: '', default_address: { phone: '(415) 555-0122' } }))).toMatchObject({ optIn: { phone: '4155550122' } });
  });

  it('leaves out an invalid email rather than refusing the opt-in', () => {
    const d = decide(subscribed('confirmed_opt_in', { email: 'not an email' }));
    expect(d.kind).toBe('optin');
    expect(d.kind === 'optin' && 'email' in d.optIn).toBe(false);
  });

  it('ignores, with a reason, what is not a subscription, and does not echo odd values', () => {
    expect(decide({ sms_marketing_consent: { state: 'unsubscribed' } })).toEqual({ kind: 'ignored', reason: 'sms_marketing_consent.state is "unsubscribed", not "subscribed"' });
    expect(decide({ sms_marketing_consent: { state: { evil: 1 } } })).toEqual({ kind: 'ignored', reason: 'sms_marketing_consent.state is unrecognised, not "subscribed"' });
    expect(decide({ sms_marketing_consent: {} })).toEqual({ kind: 'ignored', reason: 'sms_marketing_consent.state is missing, not "subscribed"' });
    expect(decide({ phone: '4155550100' })).toEqual({ kind: 'ignored', reason: 'no sms_marketing_consent' });
    expect(decide(subscribed('confirmed_opt_in'), { topic: 'customers/delete' })).toEqual({ kind: 'ignored', reason: 'topic "customers/delete" is not handled' });
  });

  it('refuses a body that is not a customer and a missing or unprintable webhook id, naming the header', () => {
    expect(decide([subscribed('confirmed_opt_in')])).toEqual({ kind: 'invalid', issues: [{ path: '', message: 'expected a Shopify customer object' }] });
    expect(decide(subscribed('confirmed_opt_in'), { webhookId: undefined })).toEqual({ kind: 'invalid', issues: [{ path: 'headers.x-shopify-webhook-id', message: 'required' }] });
    expect(decide(subscribed('confirmed_opt_in'), { webhookId: 'wh\u200b1' })).toMatchObject({ kind: 'invalid', issues: [{ path: 'headers.x-shopify-webhook-id' }] });
    expect(decide(subscribed('confirmed_opt_in'), { topic: '' })).toEqual({ kind: 'invalid', issues: [{ path: 'headers.x-shopify-topic', message: 'required' }] });
  });
});

describe('WooCommerce consent', () => {
  it('counts true, 1 and yes/1/true/on in any case as consent, and nothing else', () => {
    for (const v of [true, 1, 'yes', 'YES', ' on ', '1', 'True']) expect(isConsentValue(v), String(v)).toBe(true);
    for (const v of [false, 0, 'no', '0', 'off', '', null, undefined, 'y', ['yes'], { value: 'yes' }]) expect(isConsentValue(v), JSON.stringify(v)).toBe(false);
  });

  it('reads the top-level field first, then the first meta_data entry with that key', () => {
    expect(consentValue({ sms: 'no', meta_data: [{ key: 'sms', value: 'yes' }] }, 'sms')).toBe('no');
    expect(consentValue({ meta_data: [{ key: 'other', value: 'yes' }, { key: 'sms', value: 'on' }, { key: 'sms', value: 'no' }] }, 'sms')).toBe('on');
    expect(consentValue({ meta_data: 'garbage' }, 'sms')).toBeUndefined();
  });

  it('decides an opt-in from billing.phone and email or billing.email', () => {
    const options = { consentField: 'sms_opt_in', doubleOptIn: true };
    const d = decideWooCommerce({ topic: 'customer.updated', deliveryId: 'd1', body: { sms_opt_in: 'yes', email: '', billing: { phone: '415-555-0100', email: 'B@Shop.io' } } }, options);
    expect(d).toEqual({ kind: 'optin', optIn: { eventId: 'd1', phone: '4155550100', email: 'b@shop.io', doubleOpt: true, loyalty: true, source: 'woocommerce' } });
    expect(decideWooCommerce({ topic: 'customer.created', deliveryId: 'd2', body: { sms_opt_in: 'yes', billing: {} } }, options)).toEqual({ kind: 'ignored', reason: 'billing.phone: no phone number' });
    expect(decideWooCommerce({ topic: 'customer.created', deliveryId: undefined, body: {} }, options)).toEqual({ kind: 'invalid', issues: [{ path: 'headers.x-wc-webhook-delivery-id', message: 'required' }] });
  });
});
