import type { JobsOptions } from 'bullmq';
import type { QueueName } from '../lib/events.ts';
import type { IdempotencyKey } from '../lib/idempotency.ts';
import type { PayloadIssue } from '../lib/errors.ts';
import { toPayloadIssues } from '../producers/schemas.ts';
import { attributesJob } from './attributes.ts';
import { contactsJob } from './contacts.ts';
import { optInJob } from './optin.ts';
import { pointsJob } from './points.ts';
import type { HandlerContext, JobModule, Lane, Outcome } from './types.ts';

/** A job module with its payload type closed over: what the worker runner needs. */
export interface BoundJob {
  queue: QueueName;
  lane: Lane;
  options: JobsOptions;
  /** Parses `job.data` again; invalid data is never processed. */
  parse(data: unknown): { ok: true; key: IdempotencyKey; account: string; run(ctx: HandlerContext): Promise<Outcome> } | { ok: false; issues: PayloadIssue[] };
}

export function bindJob<P>(module: JobModule<P>): BoundJob {
  return {
    queue: module.queue,
    lane: module.lane,
    options: module.options,
    parse(data) {
      const parsed = module.schema.safeParse(data);
      if (!parsed.success) return { ok: false, issues: toPayloadIssues(parsed.error) };
      const payload = parsed.data;
      return { ok: true, key: module.keyOf(payload), account: module.accountOf(payload), run: (ctx) => module.handle(payload, ctx) };
    },
  };
}

/**
 * Every job type by queue; a queue without a module does not compile. The `backfill` queue
 * carries the nightly scheduler's job, run by the backfill module.
 */
export const JOBS = {
  points: bindJob(pointsJob),
  optin: bindJob(optInJob),
  attributes: bindJob(attributesJob),
  contacts: bindJob(contactsJob),
} satisfies Record<Exclude<QueueName, 'backfill'>, BoundJob>;

export type JobQueueName = keyof typeof JOBS;
export const JOB_QUEUES = Object.keys(JOBS) as JobQueueName[];
