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
  type AiqSyncError,
} from '../errors.ts';
import { parseRetryAfter } from './retry-policy.ts';

/** Longest piece of AIQ's answer kept on an error (message and `responseBody`). */
export const MAX_BODY_CHARS = 1_000;

/**
 * Network error codes that prove the request never reached AIQ: the connection was never
 * established, so nothing can have been applied.
 */
export const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  // The dispatcher is closed or destroyed: undici refuses before writing anything.
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

/**
 * Codes after which the request may have been written and applied: timeouts waiting for the
 * answer and connections lost mid-exchange. Any code not in either set is treated the same way
 * (outcome unknown is the safe default for a non-idempotent call).
 */
export const OUTCOME_UNKNOWN_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** Codes of undici programming errors (bad arguments): a bug here, rethrown as is. */
const BUG_CODES: ReadonlySet<string> = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_INVALID_RETURN_VALUE', 'UND_ERR_NOT_SUPPORTED']);

function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = err;
  // Walk the cause chain and AggregateError members (happy-eyeballs connect failures).
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    if (current instanceof AggregateError) {
      for (const inner of current.errors) codes.push(...codesOf(inner));
    }
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

export interface ExchangeDescription {
  /** `PUT /api/v1.1/adjust/...`, already scrubbed of phones, emails and the key. */
  what: string;
}

/**
 * Turns what the dispatcher threw into a typed error. `signal` is the caller's: when it fired,
 * the failure is the abort, whatever undici reported.
 */
export function mapNetworkError(err: unknown, signal: AbortSignal | undefined, where: ExchangeDescription): Error {
  if (signal?.aborted) return new AbortedError(`${where.what}: aborted by the caller`, { cause: err });
  const codes = codesOf(err);
  if (codes.some((c) => BUG_CODES.has(c)) && err instanceof Error) return err;
  const code = codes.find((c) => NOT_SENT_CODES.has(c) || OUTCOME_UNKNOWN_CODES.has(c)) ?? codes[0] ?? 'unknown';
  if (NOT_SENT_CODES.has(code)) {
    return new AiqNotSentError(`${where.what}: not sent (${code})`, { cause: err });
  }
  return new AiqOutcomeUnknownError(`${where.what}: no answer, AIQ may have applied it (${code})`, { cause: err });
}

export interface HttpFailure {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** AIQ's message, already scrubbed. */
  message: string | undefined;
  /** The body, already scrubbed and truncated. */
  body: string;
  where: ExchangeDescription;
}

/** The typed error for a non-2xx status (404 "nothing found" is handled before this). */
export function errorForStatus(failure: HttpFailure): AiqSyncError {
  const { status, where } = failure;
  const said = failure.message === undefined ? '' : `: ${failure.message}`;
  const options = { status, responseBody: failure.body };
  if (status === 401 || status === 403) {
    return new AiqAuthError(`${where.what}: AIQ refused the API key (${status})${said}`, options);
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(failure.headers['retry-after']);
    return new AiqRateLimitedError(
      `${where.what}: rate limited (429)${retryAfterMs === undefined ? '' : `, retry after ${retryAfterMs} ms`}`,
      retryAfterMs === undefined ? options : { ...options, retryAfterMs },
    );
  }
  if (status === 404) return new AiqNotFoundError(`${where.what}: not found (404)${said}`, options);
  if (status >= 500) return new AiqServerError(`${where.what}: AIQ server error ${status}${said}`, options);
  if (status >= 400) return new AiqRejectedError(`${where.what}: rejected (${status})${said}`, options);
  return new AiqResponseInvalidError(`${where.what}: unexpected status ${status}`, options);
}

/** Keeps the first `max` characters, marking the cut. */
export function truncate(text: string, max: number = MAX_BODY_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[${text.length - max} more]`;
}
