import type { RouteName } from '../config.ts';
import {
  AiqNotSentError,
  AiqOutcomeUnknownError,
  AiqRateLimitedError,
  AiqServerError,
} from '../errors.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT';

/** What a 404 means for an operation. */
export type NotFoundMeaning =
  /** "Nothing found": the method returns null. */
  | 'null'
  /** An unknown route or an unknown contact ID in the path: AiqNotFoundError. */
  | 'error';

export interface OperationPolicy {
  route: RouteName;
  method: HttpMethod;
  /**
   * Whether sending the same request twice leaves AIQ as sending it once. Only idempotent
   * operations are ever repeated by the client; the rest get exactly one attempt and their
   * typed error tells the caller whether AIQ may have applied them.
   */
  idempotent: boolean;
  notFound: NotFoundMeaning;
  /** Why, in one line: this table is the reference for reviewers. */
  why: string;
}

/** Every call the client makes, by operation, with its answer as data. */
export const OPERATIONS = {
  listPersonas: { route: 'listPersonas', method: 'GET', idempotent: true, notFound: 'error', why: 'read' },
  getPersona: { route: 'getPersona', method: 'GET', idempotent: true, notFound: 'null', why: 'read; 404 = unknown contact' },
  createContact: {
    route: 'createContact',
    method: 'POST',
    idempotent: false,
    notFound: 'error',
    why: 'a repeat may create a second contact or text the customer again',
  },
  writeOverride: {
    route: 'writeOverride',
    method: 'POST',
    idempotent: true,
    notFound: 'error',
    why: 'merges the same fields key by key: a repeat sets the same values',
  },
  readOverride: { route: 'readOverride', method: 'GET', idempotent: true, notFound: 'null', why: 'read; 404 = none' },
  loyaltyLookup: { route: 'loyaltyLookup', method: 'GET', idempotent: true, notFound: 'null', why: 'read; 404 = unknown' },
  optIn: {
    route: 'optIn',
    method: 'PUT',
    idempotent: true,
    notFound: 'error',
    why: 'force-sets the opt-in state: a repeat sets the same state',
  },
  optInDouble: {
    route: 'optIn',
    method: 'PUT',
    idempotent: false,
    notFound: 'error',
    why: 'doubleOpt=true may re-send the confirmation text',
  },
  adjustPoints: {
    route: 'adjustPoints',
    method: 'PUT',
    idempotent: false,
    notFound: 'error',
    why: 'adds a signed delta with no idempotency key: a repeat double-credits',
  },
  listAdjustments: { route: 'adjustments', method: 'GET', idempotent: true, notFound: 'error', why: 'read' },
  upsertCustomAttributes: {
    route: 'customAttributes',
    method: 'POST',
    idempotent: true,
    notFound: 'error',
    why: 'upserts by key: a repeat writes the same values',
  },
  replaceCustomAttributes: {
    route: 'customAttributes',
    method: 'PUT',
    idempotent: true,
    notFound: 'error',
    why: 'replaces the whole set with the same set',
  },
  getCustomAttributes: { route: 'customAttributes', method: 'GET', idempotent: true, notFound: 'error', why: 'read' },
  getOrders: { route: 'orders', method: 'GET', idempotent: true, notFound: 'error', why: 'read' },
  getPointsTimeline: { route: 'pointsTimeline', method: 'GET', idempotent: true, notFound: 'error', why: 'read' },
  getRecommendations: { route: 'recommendations', method: 'GET', idempotent: true, notFound: 'error', why: 'read' },
} as const satisfies Record<string, OperationPolicy>;

export type OperationName = keyof typeof OPERATIONS;

/** 5xx statuses that say "not handled, try again" (gateway and overload), as opposed to 500. */
export const RETRYABLE_SERVER_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/**
 * Backoff between tries of one idempotent call (p-retry): short, because the job layer (BullMQ)
 * retries again later with its own longer backoff. Jittered by p-retry's `randomize` (×1–2).
 */
export const CLIENT_BACKOFF = { minTimeoutMs: 100, factor: 2, maxTimeoutMs: 1_000 } as const;

export type RetryDecision =
  | { kind: 'stop' }
  /** Retry after the regular jittered backoff. */
  | { kind: 'backoff' }
  /** Retry after exactly this wait (a 429's Retry-After), instead of the backoff. */
  | { kind: 'wait'; ms: number };

export interface RetryContext {
  operation: OperationPolicy;
  /** 1 for the first try. */
  attempt: number;
  /** Tries allowed in all, the first included. */
  maxAttempts: number;
  /** Longest Retry-After the client waits out itself. */
  maxRetryAfterMs: number;
}

/**
 * Whether the client tries an idempotent call again after this error. Non-idempotent calls and
 * anything not listed here stop at once: the error goes to the caller (BullMQ layer).
 */
export function decideRetry(error: unknown, ctx: RetryContext): RetryDecision {
  if (!ctx.operation.idempotent || ctx.attempt >= ctx.maxAttempts) return { kind: 'stop' };
  if (error instanceof AiqNotSentError || error instanceof AiqOutcomeUnknownError) return { kind: 'backoff' };
  if (error instanceof AiqServerError) {
    return error.status !== undefined && RETRYABLE_SERVER_STATUSES.has(error.status) ? { kind: 'backoff' } : { kind: 'stop' };
  }
  if (error instanceof AiqRateLimitedError) {
    if (error.retryAfterMs === undefined) return { kind: 'backoff' };
    return error.retryAfterMs <= ctx.maxRetryAfterMs ? { kind: 'wait', ms: error.retryAfterMs } : { kind: 'stop' };
  }
  return { kind: 'stop' };
}

/**
 * Reads a `Retry-After` header: delta-seconds (`"2"`, `"1.5"`) or an HTTP-date. Returns the wait
 * in milliseconds (0 for a date in the past), or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1_000);
  // An HTTP-date always names a weekday and a month; this keeps stray numbers out of Date.parse.
  if (!/^[A-Za-z]{3,9},? /.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
