import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import { AbortedError, AiqRejectedError, AiqResponseInvalidError, isAiqSyncError } from '../errors.ts';
import { errorForStatus } from './error-mapping.ts';
import { CLIENT_BACKOFF, decideRetry, type OperationPolicy, type RetryDecision } from './retry-policy.ts';
import { aiqMessage, readEnvelope } from './schemas.ts';
import { bodyForError, type RawResponse, type Transport } from './transport.ts';

export interface CallSpec<T> {
  operation: OperationPolicy;
  /** Path and query, placeholders encoded. */
  path: string;
  /** JSON body, when the call has one. */
  body?: unknown;
  /**
   * Parses the envelope's `data`. A 404 on an operation whose 404 means "nothing found" is fed
   * in as `null`, so the schema decides what nothing looks like.
   */
  schema: z.ZodType<T>;
  /** False for writes whose answer may be empty (204, or a 200 without a body). */
  expectsBody: boolean;
  signal: AbortSignal | undefined;
}

export interface ExecutorOptions {
  transport: Transport;
  logger: Logger;
  /** Tries of one idempotent call, the first included. */
  maxAttempts: number;
  maxRetryAfterMs: number;
}

/** Runs calls: one attempt for non-idempotent operations, p-retry around idempotent ones. */
export interface Executor {
  run<T>(spec: CallSpec<T>): Promise<T>;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

export function createExecutor(options: ExecutorOptions): Executor {
  const { transport, logger, maxAttempts, maxRetryAfterMs } = options;

  const invalid = (res: RawResponse, why: string, cause?: unknown): AiqResponseInvalidError =>
    new AiqResponseInvalidError(`${res.where.what}: unreadable answer (${transport.redact(why)})`, {
      status: res.status,
      responseBody: bodyForError(transport, res.text),
      ...(cause === undefined ? {} : { cause }),
    });

  function interpret<T>(spec: CallSpec<T>, res: RawResponse): T {
    const json = res.text.trim() === '' ? undefined : parseJson(res.text);
    if (res.status < 200 || res.status >= 300) {
      if (res.status === 404 && spec.operation.notFound === 'null') return parseData(spec, res, null);
      const said = json?.ok ? aiqMessage(json.value) : undefined;
      throw errorForStatus({
        status: res.status,
        headers: res.headers,
        message: said === undefined ? undefined : transport.redact(said),
        body: bodyForError(transport, res.text),
        where: res.where,
      });
    }
    if (json === undefined) {
      if (spec.expectsBody) throw invalid(res, 'empty body');
      return parseData(spec, res, null);
    }
    if (!json.ok) throw invalid(res, 'not JSON');
    const envelope = readEnvelope(json.value);
    switch (envelope.kind) {
      case 'refused':
        throw new AiqRejectedError(`${res.where.what}: refused by AIQ: ${transport.redact(envelope.message)}`, {
          status: res.status,
          responseBody: bodyForError(transport, res.text),
        });
      case 'invalid':
        throw invalid(res, envelope.message);
      case 'ok':
        return parseData(spec, res, envelope.data);
    }
  }

  function parseData<T>(spec: CallSpec<T>, res: RawResponse, data: unknown): T {
    const parsed = spec.schema.safeParse(data);
    if (!parsed.success) throw invalid(res, z.prettifyError(parsed.error).replace(/\s+/g, ' '), parsed.error);
    return parsed.data;
  }

  async function attempt<T>(spec: CallSpec<T>): Promise<T> {
    const res = await transport.send({
      route: spec.operation.route,
      method: spec.operation.method,
      path: spec.path,
      ...(spec.body === undefined ? {} : { body: spec.body }),
      signal: spec.signal,
    });
    return interpret(spec, res);
  }

  async function withRetries<T>(spec: CallSpec<T>): Promise<T> {
    let decision: RetryDecision = { kind: 'stop' };
    return pRetry(() => attempt(spec), {
      // Our own guard in onFailedAttempt caps the tries; 429 waits do not go through p-retry's count.
      retries: maxAttempts - 1,
      factor: CLIENT_BACKOFF.factor,
      minTimeout: CLIENT_BACKOFF.minTimeoutMs,
      maxTimeout: CLIENT_BACKOFF.maxTimeoutMs,
      randomize: true,
      signal: spec.signal,
      onFailedAttempt: async ({ error, attemptNumber }) => {
        decision = decideRetry(error, {
          operation: spec.operation,
          attempt: attemptNumber,
          maxAttempts,
          maxRetryAfterMs,
        });
        if (decision.kind === 'stop') throw error;
        logger.debug(
          { route: spec.operation.route, method: spec.operation.method, attempt: attemptNumber, code: isAiqSyncError(error) ? error.code : error.name, decision },
          'aiq call failed, retrying',
        );
        // A 429's Retry-After replaces the backoff for this wait (shouldConsumeRetry below
        // then skips p-retry's own delay).
        if (decision.kind === 'wait' && decision.ms > 0) await sleep(decision.ms, undefined, { signal: spec.signal });
      },
      shouldConsumeRetry: () => decision.kind !== 'wait',
    });
  }

  return {
    async run(spec) {
      try {
        return spec.operation.idempotent ? await withRetries(spec) : await attempt(spec);
      } catch (err) {
        if (spec.signal?.aborted && !isAiqSyncError(err)) {
          throw new AbortedError(`${spec.operation.method} ${spec.operation.route}: aborted by the caller`, { cause: err });
        }
        throw err;
      }
    },
  };
}
