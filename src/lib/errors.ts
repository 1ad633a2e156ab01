/**
 * Every error aiq-sync raises on purpose. Classify by `code` or by class, never by message text.
 *
 * `retryable` says whether running the same work again may succeed. `retryAfterMs` is a hint
 * from the other side (AIQ's `Retry-After`, a slow schedule for contacts not yet in AIQ).
 */
export type ErrorCode =
  | 'AIQ_ERR_CONFIG'
  | 'AIQ_ERR_PAYLOAD_INVALID'
  | 'AIQ_ERR_AUTH'
  | 'AIQ_ERR_RATE_LIMITED'
  | 'AIQ_ERR_NOT_FOUND'
  | 'AIQ_ERR_CONTACT_NOT_FOUND'
  | 'AIQ_ERR_REJECTED'
  | 'AIQ_ERR_SERVER'
  | 'AIQ_ERR_NOT_SENT'
  | 'AIQ_ERR_OUTCOME_UNKNOWN'
  | 'AIQ_ERR_RESPONSE_INVALID'
  | 'AIQ_ERR_ABORTED'
  | 'AIQ_ERR_REDIS_UNAVAILABLE'
  | 'AIQ_ERR_PRECONDITION';

export interface AiqSyncErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
  /** HTTP status of AIQ's answer, when there was one. */
  status?: number;
  /** AIQ's answer body (truncated), kept for the dead-letter record. */
  responseBody?: string;
}

export class AiqSyncError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  readonly responseBody: string | undefined;

  constructor(code: ErrorCode, message: string, options: AiqSyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.responseBody = options.responseBody;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.responseBody === undefined ? {} : { responseBody: this.responseBody }),
    };
  }
}

export interface ConfigIssue {
  /** The variable or key, e.g. `AIQ_RATE_LIMITS`. */
  path: string;
  message: string;
}

/** One error naming every bad or missing setting at once. */
export class ConfigError extends AiqSyncError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(
      'AIQ_ERR_CONFIG',
      `invalid configuration: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    );
    this.issues = issues;
  }
}

export interface PayloadIssue {
  path: string;
  message: string;
}

/** Input that does not match its schema. Never retried. */
export class PayloadInvalidError extends AiqSyncError {
  readonly issues: readonly PayloadIssue[];
  constructor(issues: readonly PayloadIssue[], options: AiqSyncErrorOptions = {}) {
    super(
      'AIQ_ERR_PAYLOAD_INVALID',
      `invalid payload: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
      { ...options, retryable: false },
    );
    this.issues = issues;
  }
}

/** 401/403 from AIQ: the key is wrong. Never retried. */
export class AiqAuthError extends AiqSyncError {
  constructor(message: string, options: AiqSyncErrorOptions = {}) {
    super('AIQ_ERR_AUTH', message, { ...options, retryable: false });
  }
}

/** 429 from AIQ. The request was not applied. */
export class AiqRateLimitedError extends AiqSyncError {
  constructor(message: string, options: AiqSyncErrorOptions = {}) {
    super('AIQ_ERR_RATE_LIMITED', message, { ...options, retryable: true });
  }
}

/** 404 for a route or an entity (unknown contact ID in a path). */
export class AiqNotFoundError extends AiqSyncError {
  constructor(message: string, options: AiqSyncErrorOptions = {}) {
    super('AIQ_ERR_NOT_FOUND', message, { ...options, retryable: false });
  }
}

/** The customer a job names is not in AIQ (yet): retried on a slow schedule. */
export class ContactNotFoundError extends AiqSyncError {
  constructor(message: string, options: AiqSyncErrorOptions = {}) {
    super('AIQ_ERR_CONTACT_NOT_FOUND', message, { retryable: true, ...options });
  }
}

/** Any other 4xx, or `success: false`: AIQ refused the request and applied nothing. */
export class AiqRejectedError extends AiqSyncError {
  constructor(message: string, options: AiqSyncErrorOptions = {}) {
    super('AIQ_ERR_REJECTED', message, { ...options, retryable: false });
  }
}

/**
 * 5xx from AIQ. For a non-idempotent call the change may or may not have been applied,
 * so the pipeline reconciles before calling again.
 */
export class AiqServerError extends AiqSyncError {
  constructor(message: string, options: AiqSyncErrorOptions = {}) {
    super('AIQ_ERR_SERVER', message, { ...options, retryable: true });
  }
}

/** The request never left this process (connect refused or timed out): nothing was applied. */
export class AiqNotSentError extends AiqSyncError {
  constructor(message: string, options: AiqSyncErrorOptions = {}) {
    super('AIQ_ERR_NOT_SENT', message, { ...options, retryable: true });
  }
}

/**
 * The request was sent, but no answer came back (timeout, connection lost). AIQ may have
 * applied it: a non-idempotent call must be reconciled, never repeated blindly.
 */
export class AiqOutcomeUnknownError extends AiqSyncError {
  constructor(message: string, options: AiqSyncErrorOptions = {}) {
    super('AIQ_ERR_OUTCOME_UNKNOWN', message, { ...options, retryable: true });
  }
}

/** AIQ answered 2xx with a body that does not parse. */
export class AiqResponseInvalidError extends AiqSyncError {
  constructor(message: string, options: AiqSyncErrorOptions = {}) {
    super('AIQ_ERR_RESPONSE_INVALID', message, { retryable: true, ...options });
  }
}

/** The caller's AbortSignal fired (shutdown deadline, job cancelled). */
export class AbortedError extends AiqSyncError {
  constructor(message = 'aborted', options: AiqSyncErrorOptions = {}) {
    super('AIQ_ERR_ABORTED', message, { ...options, retryable: true });
  }
}

/** Redis cannot be reached by a fail-fast producer connection. */
export class RedisUnavailableError extends AiqSyncError {
  constructor(message: string, options: AiqSyncErrorOptions = {}) {
    super('AIQ_ERR_REDIS_UNAVAILABLE', message, { ...options, retryable: true });
  }
}

/** Work that must wait for something else first (a void before its sale is applied). */
export class PreconditionError extends AiqSyncError {
  constructor(message: string, options: AiqSyncErrorOptions = {}) {
    super('AIQ_ERR_PRECONDITION', message, { retryable: true, ...options });
  }
}

export function isAiqSyncError(value: unknown): value is AiqSyncError {
  return value instanceof AiqSyncError;
}

/** The error's stable code, or `AIQ_ERR_INTERNAL` for anything we did not raise on purpose. */
export function errorCodeOf(value: unknown): ErrorCode | 'AIQ_ERR_INTERNAL' {
  return isAiqSyncError(value) ? value.code : 'AIQ_ERR_INTERNAL';
}
