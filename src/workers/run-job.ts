import { randomUUID } from 'node:crypto';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { AbortedError, AiqRateLimitedError, AiqSyncError, errorCodeOf } from '../lib/errors.ts';
import type { EventStream } from '../lib/events.ts';
import type { Keys } from '../lib/keys.ts';
import type { Ledger } from '../lib/ledger.ts';
import type { Logger } from '../lib/logger.ts';
import type { RedisClient } from '../lib/redis.ts';
import type { BoundJob } from '../jobs/registry.ts';
import { RetryLater, type AccountServices, type HandlerContext, type JobSettings, type Lane } from '../jobs/types.ts';
import type { Customer } from '../producers/schemas.ts';

/** What the runner needs of an account. */
export interface AccountRuntime {
  lanes: Record<Lane, AccountServices>;
  /** Puts the account's shared budget into a cool-down after a 429. */
  reportRateLimited(retryAfterMs: number | undefined): Promise<void>;
}

/** Hooks for metrics; every one optional. */
export interface JobObserver {
  onOutcome?(queue: string, kind: string, durationMs: number): void;
  onRetry?(queue: string, code: string): void;
  onDelay?(queue: string, reason: string): void;
  /** An attempt checked AIQ for an earlier ambiguous attempt's effect: `found` when it was there. */
  onReconcile?(queue: string, found: boolean): void;
}

export interface RunnerDeps {
  ledger: Ledger;
  events: EventStream;
  redis: RedisClient;
  keys: Keys;
  settings: JobSettings;
  log: Logger;
  accounts: ReadonlyMap<string, AccountRuntime>;
  requestContact(customer: Customer, source: string, account: string): Promise<void>;
  observer?: JobObserver;
}

/** The error recorded on a dead job: `CODE: message`, so the dead-letter list can filter by code. */
export function deadReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `${errorCodeOf(err)}: ${message}`;
}

function errorDetail(err: unknown): Record<string, unknown> {
  if (err instanceof AiqSyncError) return err.toJSON();
  return { code: errorCodeOf(err), message: err instanceof Error ? err.message : String(err) };
}

/**
 * The BullMQ processor of one queue. It declares three parameters so BullMQ passes the
 * AbortSignal. Outcomes become terminal events through the ledger (exactly once per key);
 * waits (RetryLater, 429s, shutdown) never use up an attempt; a job that cannot succeed, or
 * that used its last attempt, emits `job.dead` and fails with `CODE: message`.
 */
export function createProcessor(bound: BoundJob, deps: RunnerDeps) {
  return async function process(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const started = Date.now();
    const attempt = job.attemptsMade + 1;
    const jobId = job.id ?? '';
    // The child logger is made on first use: most jobs never log, and a child costs a few µs.
    let childLog: Logger | undefined;
    const log = (): Logger => (childLog ??= deps.log.child({ queue: bound.queue, job: job.name, jobId, attempt }));
    const debugOn = deps.log.isLevelEnabled('debug');
    const parsed = bound.parse(job.data);
    const base = { jobId, queue: bound.queue, attempts: attempt };

    if (!parsed.ok) {
      const message = parsed.issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ');
      log().warn({ issues: parsed.issues }, 'invalid payload: dead without retries');
      await deps.events.publish({ ...base, kind: 'job.dead', key: `invalid:${jobId}`, account: '', contactID: '', detail: { code: 'AIQ_ERR_PAYLOAD_INVALID', issues: parsed.issues } });
      deps.observer?.onOutcome?.(bound.queue, 'job.dead', Date.now() - started);
      throw new UnrecoverableError(`AIQ_ERR_PAYLOAD_INVALID: ${message}`);
    }

    const { key, account } = parsed;
    const runtime = deps.accounts.get(account);
    const finishDead = async (err: unknown) => {
      const event = await deps.ledger.finish(key, { error: errorCodeOf(err) }, { ...base, kind: 'job.dead', key, account, contactID: '', detail: errorDetail(err) });
      if (event) deps.observer?.onOutcome?.(bound.queue, 'job.dead', Date.now() - started);
    };
    if (!runtime) {
      const err = new AiqSyncError('AIQ_ERR_CONFIG', `unknown account "${account}"`);
      await finishDead(err);
      throw new UnrecoverableError(deadReason(err));
    }
    // A job's first start cannot find its key terminal (the enqueue that created the job had
    // just accepted the key), so only later starts (retries, waits, stalls, replays) read the
    // ledger first: one Redis round trip less per job. Effects stay guarded by the ledger's claim.
    const entry = job.attemptsStarted > 1 ? await deps.ledger.get(key) : null;
    if (entry?.terminal) {
      if (debugOn) log().debug({ terminal: entry.terminal }, 'already done: nothing to do');
      return;
    }

    const ctx: HandlerContext = {
      signal: signal ?? new AbortController().signal,
      get log() {
        return log();
      },
      attempt,
      jobId,
      queue: bound.queue,
      key,
      owner: `${jobId}:${attempt}:${randomUUID()}`,
      enqueuedAt: Number(entry?.enqueuedAt ?? job.timestamp),
      account: runtime.lanes[bound.lane],
      ledger: deps.ledger,
      redis: deps.redis,
      keys: deps.keys,
      settings: deps.settings,
      requestContact: (customer, source) => deps.requestContact(customer, source, account),
      ...(deps.observer?.onReconcile ? { onReconcile: (found: boolean) => deps.observer?.onReconcile?.(bound.queue, found) } : {}),
    };

    const delay = async (untilMs: number, reason: string) => {
      deps.observer?.onDelay?.(bound.queue, reason);
      if (debugOn) log().debug({ untilMs, reason }, 'waiting without using an attempt');
      await job.moveToDelayed(Math.max(untilMs, Date.now() + 1), token);
      throw new DelayedError(reason);
    };

    try {
      const outcome = await parsed.run(ctx);
      const event = await deps.ledger.finish(key, outcome.fields ?? {}, {
        ...base,
        kind: outcome.kind,
        key,
        account,
        contactID: outcome.contactID ?? '',
        detail: outcome.detail ?? {},
      });
      if (event) deps.observer?.onOutcome?.(bound.queue, outcome.kind, Date.now() - started);
      if (debugOn) log().debug({ kind: outcome.kind }, 'done');
    } catch (err) {
      if (err instanceof RetryLater) return delay(err.untilMs, err.message);
      if (err instanceof AiqRateLimitedError) {
        await runtime.reportRateLimited(err.retryAfterMs);
        return delay(Date.now() + (err.retryAfterMs ?? 1_000), 'rate limited by AIQ');
      }
      if (signal?.aborted || err instanceof AbortedError) {
        // Shutdown: the job goes back to wait for the next worker, with its attempt intact.
        return delay(Date.now() + 100, 'aborted at shutdown');
      }
      const retryable = err instanceof AiqSyncError ? err.retryable : true;
      const final = !retryable || attempt >= (job.opts.attempts ?? 1);
      log()[final ? 'error' : 'warn']({ err, final }, final ? 'job failed: dead letter' : 'attempt failed: will retry');
      if (final) {
        await finishDead(err);
        throw new UnrecoverableError(deadReason(err));
      }
      deps.observer?.onRetry?.(bound.queue, errorCodeOf(err));
      throw new Error(deadReason(err), { cause: err });
    }
  };
}
