import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bearerToken, safeEqual } from '../../src/producers/ingress/auth.ts';
import { headerValue, verifyBase64Hmac, verifyTimestampedSignature } from '../../src/producers/ingress/signatures.ts';

const SECRET = 'whsec-0123456789';
const body = Buffer.from('{"eventId":"e1","phone":"4155550100","source":"web"}');
const NOW_MS = Date.UTC(2026, 10, 28, 10, 0, 0);
const NOW_S = NOW_MS / 1000;

function sign(ts: number | string, raw: Buffer = body, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(`${ts}.`).update(raw).digest('hex')}`;
}

describe('verifyTimestampedSignature', () => {
  const check = (timestamp: string | undefined, signature: string | undefined, raw = body) =>
    verifyTimestampedSignature({ secret: SECRET, raw, timestamp, signature, nowMs: NOW_MS });

  it('accepts a signature over "timestamp.body" within 5 minutes either way, boundaries included', () => {
    for (const ts of [NOW_S, NOW_S - 300, NOW_S + 300]) expect(check(String(ts), sign(ts))).toEqual({ ok: true });
  });

  it('refuses a timestamp 301 seconds away either way as stale, even with a valid signature', () => {
    expect(check(String(NOW_S - 301), sign(NOW_S - 301))).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(check(String(NOW_S + 301), sign(NOW_S + 301))).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('says what is missing or wrong', () => {
    expect(check(String(NOW_S), undefined)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(check(String(NOW_S), '  ')).toEqual({ ok: false, reason: 'missing_signature' });
    expect(check(undefined, sign(NOW_S))).toEqual({ ok: false, reason: 'missing_timestamp' });
    expect(check('2026-11-28T10:00:00Z', sign('2026-11-28T10:00:00Z'))).toEqual({ ok: false, reason: 'missing_timestamp' });
    expect(check(String(NOW_S), sign(NOW_S, Buffer.from(`${body.toString()} `)))).toEqual({ ok: false, reason: 'bad_signature' });
    expect(check(String(NOW_S), sign(NOW_S, body, 'another-secret'))).toEqual({ ok: false, reason: 'bad_signature' });
    expect(check(String(NOW_S), sign(NOW_S).slice('sha256='.length))).toEqual({ ok: false, reason: 'bad_signature' });
    // The timestamp is part of what is signed: moving it breaks the signature.
    expect(check(String(NOW_S - 1), sign(NOW_S))).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('accepts upper-case hex', () => {
    expect(check(String(NOW_S), `sha256=${sign(NOW_S).slice(7).toUpperCase()}`)).toEqual({ ok: true });
  });
});

describe('verifyBase64Hmac', () => {
  const expected = createHmac('sha256', SECRET).update(body).digest('base64');

  it('accepts the base64 HMAC-SHA256 of the raw bytes and nothing else', () => {
    expect(verifyBase64Hmac(SECRET, body, expected)).toBe(true);
    expect(verifyBase64Hmac(SECRET, body, ` ${expected} `)).toBe(true);
    expect(verifyBase64Hmac(SECRET, body, undefined)).toBe(false);
    expect(verifyBase64Hmac(SECRET, body, '')).toBe(false);
    expect(verifyBase64Hmac(SECRET, Buffer.from(body.toString().replace('e1', 'e2')), expected)).toBe(false);
    expect(verifyBase64Hmac('another-secret', body, expected)).toBe(false);
    expect(verifyBase64Hmac(SECRET, body, createHmac('sha256', SECRET).update(body).digest('hex'))).toBe(false);
  });
});

describe('bearer tokens and comparisons', () => {
  it('reads a bearer token case-insensitively and nothing else', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('compares strings of any lengths', () => {
    expect(safeEqual('token', 'token')).toBe(true);
    expect(safeEqual('token', 'token2')).toBe(false);
    expect(safeEqual('', 'x'.repeat(1000))).toBe(false);
  });

  it('treats a repeated header as absent', () => {
    expect(headerValue(['a', 'b'])).toBeUndefined();
    expect(headerValue('a')).toBe('a');
  });
});
