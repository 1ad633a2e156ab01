import type { JobsOptions } from 'bullmq';
import type { z } from 'zod';
import type { AiqClient } from '../lib/aiq/types.ts';
import type { QueueName, TerminalKind } from '../lib/events.ts';
import type { IdempotencyKey } from '../lib/idempotency.ts';
import type { Keys } from '../lib/keys.ts';
import type { Ledger } from '../lib/ledger.ts';
import type { Logger } from '../lib/logger.ts';
import type { RedisClient } from '../lib/redis.ts';
import type { ContactResolver } from '../workers/contact-resolver.ts';
import type { Customer } from '../producers/schemas.ts';

/** Which share of the account's budget a queue draws from. */
export type Lane = 'realtime' | 'bulk';

/** Everything a handler may use for one account. */
export interface AccountServices {
  name: string;
  /** The AIQ client bound to this job's lane of the account's budget. */
  client: AiqClient;
  resolver: ContactResolver;
}

export interface JobSettings {
  pointsPerDollar: number;
  contactNotFound: 'retry' | 'create';
  /** How long a job waits for a contact (or an original sale) to appear before it is dead. */
  waitLimitMs: number;
  /** How long an attempt holds an idempotency key without renewing it. */
  leaseMs: number;
  /** How long a request may still reach AIQ after it was sent (the client timeout and a margin). */
  settleMs: number;
  /** Overrides the contact-not-found schedule (tests shorten it). */
  contactRetry?: { minMs: number; maxMs: number };
}

export interface HandlerContext {
  signal: AbortSignal;
  log: Logger;
  /** 1-based attempt number. */
  attempt: number;
  jobId: string;
  queue: QueueName;
  key: IdempotencyKey;
  /** Unique per attempt: the owner of ledger claims. */
  owner: string;
  /** When the job was first enqueued (epoch ms). */
  enqueuedAt: number;
  account: AccountServices;
  ledger: Ledger;
  redis: RedisClient;
  keys: Keys;
  settings: JobSettings;
  /** Enqueues a `contacts` job for a customer AIQ does not know (CONTACT_NOT_FOUND=create). */
  requestContact(customer: Customer, source: string): Promise<void>;
  /** Told the result of each reconciliation (metrics); absent when nobody observes. */
  onReconcile?: (found: boolean) => void;
}

/** What a handler achieved: becomes the job's terminal result event. */
export interface Outcome {
  kind: Exclude<TerminalKind, 'job.dead'>;
  contactID?: string;
  /** Written to the ledger entry (e.g. the points a sale applied, read by its void). */
  fields?: Record<string, string | number>;
  detail?: Record<string, unknown>;
}

/**
 * Thrown by a handler to run the job again at `untilMs` without using an attempt: waiting for
 * a contact to reach AIQ, for an original sale, or for another attempt's lease.
 */
export class RetryLater extends Error {
  readonly untilMs: number;
  constructor(untilMs: number, reason: string) {
    super(reason);
    this.name = 'RetryLater';
    this.untilMs = untilMs;
  }
}

export interface JobModule<P> {
  queue: QueueName;
  lane: Lane;
  /** Parses `job.data`, on enqueue and again in the worker. */
  schema: z.ZodType<P>;
  /** BullMQ options: attempts, backoff, removal. */
  options: JobsOptions;
  keyOf(payload: P): IdempotencyKey;
  /** The account the payload names (`default` when it names none). */
  accountOf(payload: P): string;
  handle(payload: P, ctx: HandlerContext): Promise<Outcome>;
}

/** Defaults every job module starts from. */
export const BASE_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  // Failed jobs are the dead-letter set: kept for 30 days.
  removeOnFail: { age: 30 * 24 * 3600 },
};
