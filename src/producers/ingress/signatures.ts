import { createHmac } from 'node:crypto';
import { safeEqual } from './auth.ts';

/** How far `X-Timestamp` may be from now, either way: 5 minutes. */
export const TIMESTAMP_TOLERANCE_S = 300;

/** A header's single value; a repeated header is treated as absent (it is ambiguous). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Base64 HMAC-SHA256 of the raw body: Shopify's `X-Shopify-Hmac-Sha256`, WooCommerce's `X-WC-Webhook-Signature`. */
export function base64Hmac(secret: string, raw: Buffer): string {
  return createHmac('sha256', secret).update(raw).digest('base64');
}

/** Checks a base64 HMAC header in constant time. */
export function verifyBase64Hmac(secret: string, raw: Buffer, presented: string | undefined): boolean {
  if (presented === undefined || presented.trim() === '') return false;
  return safeEqual(base64Hmac(secret, raw), presented.trim());
}

/** `sha256=<hex of HMAC-SHA256(secret, timestamp + "." + raw body)>`, the generic webhook's `X-Signature`. */
export function timestampedSignature(secret: string, timestamp: string, raw: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(raw).digest('hex')}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing_signature' | 'missing_timestamp' | 'stale_timestamp' | 'bad_signature' };

export interface VerifyTimestampedOptions {
  secret: string;
  raw: Buffer;
  timestamp: string | undefined;
  signature: string | undefined;
  /** Epoch ms; default Date.now(). */
  nowMs?: number;
  /** Default 300 s. */
  toleranceS?: number;
}

/**
 * The generic webhook's check: a fresh timestamp (Unix seconds within the tolerance, either
 * way) and a matching signature over `timestamp.body`. The hex is compared case-insensitively
 * and in constant time.
 */
export function verifyTimestampedSignature(options: VerifyTimestampedOptions): SignatureCheck {
  const { secret, raw, timestamp, signature } = options;
  if (signature === undefined || signature.trim() === '') return { ok: false, reason: 'missing_signature' };
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp.trim())) return { ok: false, reason: 'missing_timestamp' };
  const ts = timestamp.trim();
  const nowS = (options.nowMs ?? Date.now()) / 1000;
  if (Math.abs(nowS - Number(ts)) > (options.toleranceS ?? TIMESTAMP_TOLERANCE_S)) return { ok: false, reason: 'stale_timestamp' };
  // The expected value is all lower case, so lower-casing the presented one accepts upper-case hex.
  const expected = timestampedSignature(secret, ts, raw);
  return safeEqual(expected, signature.trim().toLowerCase()) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
