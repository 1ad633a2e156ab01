import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  AiqAuthError,
  AiqNotFoundError,
  AiqNotSentError,
  AiqOutcomeUnknownError,
  AiqRateLimitedError,
  AiqRejectedError,
  AiqResponseInvalidError,
  AiqServerError,
} from '../../src/lib/errors.ts';
import { OPERATIONS, decideRetry, parseRetryAfter, type OperationPolicy } from '../../src/lib/aiq/retry-policy.ts';

describe('OPERATIONS (which calls the client may repeat)', () => {
  it('marks exactly the unsafe writes as not idempotent', () => {
    const notIdempotent = Object.entries(OPERATIONS)
      .filter(([, op]) => !op.idempotent)
      .map(([name]) => name)
      .sort();
    expect(notIdempotent).toEqual(['adjustPoints', 'createContact', 'optInDouble']);
  });

  it('treats every GET as idempotent', () => {
    for (const op of Object.values(OPERATIONS)) if (op.method === 'GET') expect(op.idempotent).toBe(true);
  });

  it('lists the idempotent writes with their method', () => {
    expect(OPERATIONS.writeOverride).toMatchObject({ method: 'POST', idempotent: true });
    expect(OPERATIONS.optIn).toMatchObject({ method: 'PUT', idempotent: true });
    expect(OPERATIONS.upsertCustomAttributes).toMatchObject({ method: 'POST', idempotent: true });
    expect(OPERATIONS.replaceCustomAttributes).toMatchObject({ method: 'PUT', idempotent: true });
  });

  it('reads a 404 as "nothing found" only for the lookups', () => {
    const nullOn404 = Object.entries(OPERATIONS)
      .filter(([, op]) => op.notFound === 'null')
      .map(([name]) => name)
      .sort();
    expect(nullOn404).toEqual(['getPersona', 'loyaltyLookup', 'readOverride']);
  });
});

describe('decideRetry', () => {
  const ctx = (operation: OperationPolicy, attempt = 1) => ({ operation, attempt, maxAttempts: 3, maxRetryAfterMs: 30_000 });
  const get = OPERATIONS.getPersona;

  it.each([
    ['not sent', new AiqNotSentError('x')],
    ['outcome unknown', new AiqOutcomeUnknownError('x')],
    ['502', new AiqServerError('x', { status: 502 })],
    ['503', new AiqServerError('x', { status: 503 })],
    ['504', new AiqServerError('x', { status: 504 })],
    ['429 without Retry-After', new AiqRateLimitedError('x', { status: 429 })],
  ])('backs off and retries an idempotent call after %s', (_name, error) => {
    expect(decideRetry(error, ctx(get))).toEqual({ kind: 'backoff' });
  });

  it('waits exactly Retry-After on a 429, up to maxRetryAfterMs', () => {
    expect(decideRetry(new AiqRateLimitedError('x', { retryAfterMs: 1_000 }), ctx(get))).toEqual({ kind: 'wait', ms: 1_000 });
    expect(decideRetry(new AiqRateLimitedError('x', { retryAfterMs: 30_000 }), ctx(get))).toEqual({ kind: 'wait', ms: 30_000 });
    expect(decideRetry(new AiqRateLimitedError('x', { retryAfterMs: 30_001 }), ctx(get))).toEqual({ kind: 'stop' });
  });

  it.each([
    ['500', new AiqServerError('x', { status: 500 })],
    ['auth', new AiqAuthError('x')],
    ['rejected', new AiqRejectedError('x')],
    ['not found', new AiqNotFoundError('x')],
    ['invalid response', new AiqResponseInvalidError('x')],
    ['aborted', new AbortedError()],
    ['a plain error', new Error('bug')],
    ['a TypeError', new TypeError('bug')],
  ])('stops after %s', (_name, error) => {
    expect(decideRetry(error, ctx(get))).toEqual({ kind: 'stop' });
  });

  it('never repeats a non-idempotent call, whatever the error', () => {
    for (const op of [OPERATIONS.adjustPoints, OPERATIONS.createContact, OPERATIONS.optInDouble]) {
      for (const error of [
        new AiqNotSentError('x'),
        new AiqOutcomeUnknownError('x'),
        new AiqServerError('x', { status: 503 }),
        new AiqRateLimitedError('x', { retryAfterMs: 10 }),
      ]) {
        expect(decideRetry(error, ctx(op))).toEqual({ kind: 'stop' });
      }
    }
  });

  it('retries idempotent writes like reads', () => {
    expect(decideRetry(new AiqOutcomeUnknownError('x'), ctx(OPERATIONS.writeOverride))).toEqual({ kind: 'backoff' });
    expect(decideRetry(new AiqOutcomeUnknownError('x'), ctx(OPERATIONS.optIn))).toEqual({ kind: 'backoff' });
  });

  it('stops when the tries are used up', () => {
    expect(decideRetry(new AiqNotSentError('x'), ctx(get, 2))).toEqual({ kind: 'backoff' });
    expect(decideRetry(new AiqNotSentError('x'), ctx(get, 3))).toEqual({ kind: 'stop' });
    expect(decideRetry(new AiqRateLimitedError('x', { retryAfterMs: 5 }), ctx(get, 3))).toEqual({ kind: 'stop' });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it.each([
    ['0', 0],
    ['1', 1_000],
    ['120', 120_000],
    [' 2 ', 2_000],
    ['1.5', 1_500],
  ])('reads delta-seconds %j as %d ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  it('reads an HTTP-date relative to now', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Thursday, 01-Jan-26 00:00:07 GMT', now)).toBe(7_000);
  });

  it('reads a date in the past as 0', () => {
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });

  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['3', '9'], now)).toBe(3_000);
  });

  it.each([undefined, '', 'soon', '-1', '1e3', '2026-01-01', '5 seconds', 'Foo, bar'])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});
