import type { Dispatcher } from 'undici';
import type { RouteName } from '../config.ts';
import type { Logger } from '../logger.ts';
import { AbortedError, AiqOutcomeUnknownError } from '../errors.ts';
import { scrubText } from '../normalize.ts';
import { mapNetworkError, truncate, type ExchangeDescription } from './error-mapping.ts';
import { parseRetryAfter, type HttpMethod } from './retry-policy.ts';
import type { RequestObserver } from './types.ts';

export interface Exchange {
  route: RouteName;
  method: HttpMethod;
  /** Path and query, placeholders already encoded. */
  path: string;
  /** Sent as JSON when defined. */
  body?: unknown;
  signal: AbortSignal | undefined;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  where: ExchangeDescription;
}

export interface TransportOptions {
  dispatcher: Dispatcher;
  /** `https://host:port`. */
  origin: string;
  /** Path prefix from the base URL, without trailing slash (usually ''). */
  basePath: string;
  apiKey: string;
  timeoutMs: number;
  logger: Logger;
  beforeRequest: ((route: RouteName, signal: AbortSignal | undefined) => Promise<void>) | undefined;
  onResponse: RequestObserver | undefined;
}

/** One HTTP attempt, with the typed network errors; statuses are left to the caller. */
export interface Transport {
  send(exchange: Exchange): Promise<RawResponse>;
  /** Masks the key, phones and emails in text that goes into an error message. */
  redact(text: string): string;
}

export function createTransport(options: TransportOptions): Transport {
  const { dispatcher, origin, basePath, apiKey, timeoutMs, logger } = options;

  const redact = (text: string): string => {
    const withoutKey = apiKey.length > 0 ? text.split(apiKey).join('[secret]') : text;
    return scrubText(withoutKey);
  };

  const observe = (
    route: RouteName,
    method: string,
    status: number | 'network_error',
    started: number,
    headers?: Record<string, string | string[] | undefined>,
  ): void => {
    if (!options.onResponse) return;
    try {
      const durationMs = performance.now() - started;
      // A 429's Retry-After goes to the observer too: the shared budget cools the account down.
      const retryAfterMs = status === 429 ? parseRetryAfter(headers?.['retry-after']) : undefined;
      options.onResponse({ route, method, status, durationMs, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
    } catch (err) {
      // An observer (metrics) must never change the outcome of a call.
      logger.warn({ err, route }, 'aiq onResponse observer threw');
    }
  };

  const aborted = (signal: AbortSignal | undefined, where: ExchangeDescription): AbortedError =>
    new AbortedError(`${where.what}: aborted by the caller`, { cause: signal?.reason });

  return {
    redact,
    async send(exchange) {
      const { route, method, signal } = exchange;
      const path = `${basePath}${exchange.path}`;
      // Only errors read it: scrubbed on first read, not on every request.
      let what: string | undefined;
      const where: ExchangeDescription = {
        get what() {
          return (what ??= `${method} ${redact(path.split('?')[0] ?? path)}`);
        },
      };

      if (signal?.aborted) throw aborted(signal, where);
      if (options.beforeRequest) {
        try {
          await options.beforeRequest(route, signal);
        } catch (err) {
          if (signal?.aborted) throw aborted(signal, where);
          throw err;
        }
        if (signal?.aborted) throw aborted(signal, where);
      }

      const headers: Record<string, string> = {
        'x-apikey': apiKey,
        accept: 'application/json',
        'user-agent': 'aiq-sync',
      };
      let body: string | undefined;
      if (exchange.body !== undefined) {
        body = JSON.stringify(exchange.body);
        headers['content-type'] = 'application/json';
      }

      const started = performance.now();
      let response: Dispatcher.ResponseData;
      try {
        response = await dispatcher.request({
          origin,
          path,
          method,
          headers,
          ...(body === undefined ? {} : { body }),
          signal: signal ?? null,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
      } catch (err) {
        observe(route, method, 'network_error', started);
        throw mapNetworkError(err, signal, where);
      }

      let text: string;
      try {
        text = await response.body.text();
      } catch (err) {
        // The headers came back, so the request reached AIQ: never "not sent".
        observe(route, method, 'network_error', started);
        if (signal?.aborted) throw aborted(signal, where);
        const code = (err as { code?: unknown } | null)?.code;
        throw new AiqOutcomeUnknownError(
          `${where.what}: answer lost after status ${response.statusCode} (${typeof code === 'string' ? code : 'unknown'})`,
          { cause: err, status: response.statusCode },
        );
      }
      observe(route, method, response.statusCode, started, response.headers);
      logger.debug({ route, method, status: response.statusCode }, 'aiq response');
      return { status: response.statusCode, headers: response.headers, text, where };
    },
  };
}

/** Truncated, redacted text of a body for an error. */
export function bodyForError(transport: Transport, text: string): string {
  return truncate(transport.redact(text));
}
