import type { PayloadIssue } from '../../lib/errors.ts';
import { normalizeEmail, normalizePhone } from '../../lib/normalize.ts';
import { identifier, optInSchema, parseWith, type OptInRequest } from '../schemas.ts';

/**
 * What a vendor webhook (Shopify, WooCommerce) asks for, decided from its headers and body.
 * `ignored` is answered 200: the vendor delivered correctly, there is just nothing to opt in
 * (another topic, no SMS consent, no usable phone). A 4xx would make the vendor retry, and
 * eventually disable the subscription, for a customer who simply did not consent.
 */
export type WebhookDecision =
  | { kind: 'optin'; optIn: OptInRequest }
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; issues: PayloadIssue[] };

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A delivery or event id header, checked like any identifier; the issue names the header. */
export function checkIdHeader(value: string | undefined, header: string): { ok: true; id: string } | { ok: false; issues: PayloadIssue[] } {
  if (value === undefined) return { ok: false, issues: [{ path: `headers.${header}`, message: 'required' }] };
  const r = parseWith(identifier, value);
  return r.ok ? { ok: true, id: r.value } : { ok: false, issues: r.issues.map((i) => ({ path: `headers.${header}`, message: i.message })) };
}

/** The first non-empty phone among `candidates`, normalised; a reason when there is none or it is not a US number. */
export function pickPhone(candidates: readonly unknown[]): { ok: true; phone: string } | { ok: false; reason: string } {
  const first = candidates.find((c): c is string => typeof c === 'string' && c.trim() !== '');
  if (first === undefined) return { ok: false, reason: 'no phone number' };
  const phone = normalizePhone(first.trim());
  return phone === null ? { ok: false, reason: 'the phone number is not a 10-digit US number' } : { ok: true, phone };
}

/** The first valid email among `candidates`; an invalid one is left out (it is optional for an opt-in). */
export function pickEmail(candidates: readonly unknown[]): string | undefined {
  for (const c of candidates) {
    if (typeof c !== 'string' || c.trim() === '') continue;
    const email = normalizeEmail(c);
    if (email !== null) return email;
  }
  return undefined;
}

/** A short, safe echo of a vendor's enum value for a reason string. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'missing';
  return typeof value === 'string' && /^[A-Za-z0-9_./ -]{1,40}$/.test(value) ? `"${value}"` : 'unrecognised';
}

/** The opt-in as the job will carry it, validated by the same schema as the generic webhook. */
export function optInDecision(candidate: Record<string, unknown>): WebhookDecision {
  const r = parseWith(optInSchema, candidate);
  return r.ok ? { kind: 'optin', optIn: r.value } : { kind: 'invalid', issues: r.issues };
}
